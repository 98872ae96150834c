using AnnServer.Cluster;
using AnnServer.Diagnostics;
using AnnServer.Settings;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Exporter;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace AnnServer.Hosting;

/// <summary>
/// OpenTelemetry tracing, registered only when it is wanted (<c>--otlp-endpoint</c>, or a test's exporter): without it
/// no tracer provider exists, no activity source has a listener, and ASP.NET Core and HttpClient create no activities,
/// so the request path costs what it cost before. With it: ASP.NET Core's span per request (which continues the
/// caller's W3C trace context), AnnServer's own spans (<see cref="ServerTracing.SourceNames"/>), and HttpClient's span
/// per outgoing call, whose instrumentation also sends the trace context to the next node.
/// </summary>
internal static class TracingRegistration
{
    public static void AddTracing(IServiceCollection services, TracingOptions tracing, ClusterOptions cluster,
        Action<TracerProviderBuilder>? configureForTests)
    {
        if (tracing.OtlpEndpoint is null && configureForTests is null)
            return;
        services.AddOpenTelemetry()
            .ConfigureResource(resource =>
            {
                resource.AddService(tracing.TraceServiceName, serviceInstanceId: cluster.NodeId);
            })
            .WithTracing(tracer =>
            {
                tracer.SetSampler(new ParentBasedSampler(new TraceIdRatioBasedSampler(tracing.TraceSampleRatio)))
                    .AddSource(ServerTracing.SourceNames)
                    .AddAspNetCoreInstrumentation(aspNetCore =>
                    {
                        // Probes and scrapes are not requests worth a trace.
                        aspNetCore.Filter = context => !context.Request.Path.StartsWithSegments("/metrics")
                            && !context.Request.Path.StartsWithSegments("/healthz")
                            && !context.Request.Path.StartsWithSegments("/grpc.health.v1.Health");
                    })
                    .AddHttpClientInstrumentation();
                if (tracing.OtlpEndpoint is { } endpoint)
                    tracer.AddOtlpExporter(otlp =>
                    {
                        otlp.Endpoint = new Uri(endpoint);
                        otlp.Protocol = OtlpExportProtocol.Grpc;
                    });
                configureForTests?.Invoke(tracer);
            });
    }
}
