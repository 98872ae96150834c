using System.Diagnostics;
using AnnServer.Collections.Diagnostics;
using AnnServer.Diagnostics;
using AnnServer.Limits;
using AnnServer.Protocol.V1;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Trace;

namespace AnnServer.Tests;

/// <summary>OpenTelemetry tracing on a real server, its spans taken by the SDK's in-memory exporter: a span per request
/// that continues the caller's trace, and AnnServer's child spans under it.</summary>
public sealed class TracingTests
{
    private const int Dimension = 8;

    private static async Task CreateAndFillAsync(RunningServer server, string name)
    {
        await server.Collections.CreateCollectionAsync(new CreateCollectionRequest { Name = name, Dimension = Dimension, Metric = Metric.L2 });
        var upsert = new UpsertRequest { Collection = name };
        float[] vectors = TestData.RandomVectors(20, Dimension, seed: 3);
        for (int i = 0; i < 20; i++)
            upsert.Points.Add(TestData.Point(i, TestData.Row(vectors, Dimension, i)));
        await server.Vectors.UpsertAsync(upsert);
    }

    /// <summary>The request's span: ASP.NET Core's server span of the gRPC method.</summary>
    private static Func<Activity, bool> RequestSpan(string method) =>
        span => span.Kind == ActivityKind.Server && span.DisplayName.EndsWith("/" + method, StringComparison.Ordinal);

    [Fact]
    public async Task ASearchContinuesTheCallersTraceAndItsSearchSpanIsAChildOfTheRequest()
    {
        var spans = new RecordedSpans();
        await using RunningServer server = await RunningServer.StartTracedAsync(spans);
        await CreateAndFillAsync(server, "traced");
        // The caller's own span, sampled: its HttpClient sends the trace context (W3C traceparent) with the call.
        ActivityTraceId callerTrace;
        using (Activity caller = new Activity("caller") { ActivityTraceFlags = ActivityTraceFlags.Recorded }.Start())
        {
            callerTrace = caller.TraceId;
            await server.Vectors.SearchAsync(TestData.Search("traced", TestData.RandomVectors(1, Dimension, seed: 9), k: 5));
        }

        Activity request = await spans.WaitForAsync(s => RequestSpan("Search")(s) && s.TraceId == callerTrace, "for the Search request");
        Assert.NotEqual(default, request.ParentSpanId);
        Activity search = await spans.WaitForAsync(s => s.Source.Name == CollectionTracing.SourceName && s.TraceId == callerTrace, "of the search");
        Assert.Equal("search", search.DisplayName);
        Assert.Equal(request.SpanId, search.ParentSpanId);
        Assert.Equal("traced", search.GetTagItem("ann.collection"));
        Assert.Equal(5, search.GetTagItem("ann.k"));
        Assert.Equal(5, search.GetTagItem("ann.hits"));
        Assert.Equal(false, search.GetTagItem("ann.filtered"));
    }

    [Fact]
    public async Task AnUpsertHasALogCommitSpanUnderItsRequest()
    {
        var spans = new RecordedSpans();
        await using RunningServer server = await RunningServer.StartTracedAsync(spans);
        // In a trace of the test's own: the SDK's listeners are process-wide, so spans of other tests' servers running
        // meanwhile are recorded too, and the first Upsert span recorded may be another test's (one refused before it
        // reached the log, say).
        ActivityTraceId callerTrace;
        using (Activity caller = new Activity("caller") { ActivityTraceFlags = ActivityTraceFlags.Recorded }.Start())
        {
            callerTrace = caller.TraceId;
            await CreateAndFillAsync(server, "writes");
        }

        Activity request = await spans.WaitForAsync(s => RequestSpan("Upsert")(s) && s.TraceId == callerTrace, "for the Upsert request");
        Activity commit = await spans.WaitForAsync(s => s.DisplayName == "log commit" && s.TraceId == callerTrace, "of the log commit");
        Assert.Equal(request.SpanId, commit.ParentSpanId);
        Assert.Equal("writes", commit.GetTagItem("ann.collection"));
        Assert.True((long)commit.GetTagItem("ann.log_position")! > 0);
    }

    [Fact]
    public async Task HealthProbesAreNotTraced()
    {
        var spans = new RecordedSpans();
        await using RunningServer server = await RunningServer.StartTracedAsync(spans);
        await server.Health.CheckAsync(new Grpc.Health.V1.HealthCheckRequest());
        await server.GetMetricsTextAsync();
        await server.Collections.ListCollectionsAsync(new ListCollectionsRequest());

        await spans.WaitForAsync(RequestSpan("ListCollections"), "for ListCollections");
        Assert.DoesNotContain(spans.Snapshot(), s => s.DisplayName.Contains("Health") || s.DisplayName.Contains("metrics"));
    }

    [Fact]
    public async Task WithoutAnOtlpEndpointNoTracerIsRegistered()
    {
        await using RunningServer server = await RunningServer.StartAsync();
        Assert.Null(server.Services.GetService<TracerProvider>());
    }

    [Fact]
    public async Task ASearchThatWaitsForASlotHasAnAdmissionWaitSpan()
    {
        using var parentSource = new ActivitySource("AnnServer.Tests.Admission");
        var recorded = new RecordedSpans();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name is ServerTracing.SourceName or "AnnServer.Tests.Admission",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = recorded.Add,
        };
        ActivitySource.AddActivityListener(listener);
        var admission = new SearchAdmission(maxRunning: 1, maxQueued: 4);
        Assert.True(await admission.TryEnterAsync(CancellationToken.None)); // the one slot: the next search waits

        Task<bool> waiting;
        Activity parent = parentSource.StartActivity("request")!;
        try
        {
            waiting = admission.TryEnterAsync(CancellationToken.None).AsTask();
        }
        finally
        {
            parent.Stop();
        }
        Assert.False(waiting.IsCompleted);
        admission.Exit();
        Assert.True(await waiting);
        admission.Exit();

        Activity wait = await recorded.WaitForAsync(s => s.DisplayName == "admission wait" && s.ParentSpanId == parent.SpanId, "of the wait");
        Assert.Equal(parent.TraceId, wait.TraceId);
    }

    [Theory]
    [InlineData("--otlp-endpoint", "localhost:4317", "--otlp-endpoint must be an http:// or https:// URL")]
    [InlineData("--trace-sample-ratio", "1.5", "--trace-sample-ratio must be between 0 and 1, got 1.5")]
    public void ABadTracingSettingIsRefusedNamingIt(string option, string value, string message)
    {
        var error = Assert.Throws<Settings.ServerConfigurationException>(() => Hosting.AnnServerHost.Build([option, value]));
        Assert.Contains(message, error.Message);
    }
}
