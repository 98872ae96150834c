using System.Globalization;
using System.Text;
using AnnServer.Hosting;
using AnnServer.Protocol.V1;
using BenchmarkDotNet.Attributes;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace AnnServer.Benchmarks;

/// <summary>
/// The same top-10 search as gRPC (the baseline) and as JSON over HTTP/1.1 (--http-port), from a client in this
/// process to the real server on loopback, serving <see cref="BenchmarkData"/>'s index from a snapshot: what JSON costs
/// a caller per search, in latency, against gRPC measured in the same run. Each invocation sends the next query of a
/// fixed set; the JSON bodies are written before the run, as a client that already holds its JSON would send them.
/// </summary>
public class JsonOverHttpBenchmarks
{
    private const int K = 10;
    private const string Collection = "bench";

    private WebApplication _server = null!;
    private string _dataDir = null!;
    private GrpcChannel _channel = null!;
    private VectorService.VectorServiceClient _grpc = null!;
    private HttpClient _http = null!;
    private SearchRequest[] _grpcRequests = null!;
    private string[] _jsonBodies = null!;
    private int _next;

    [ParamsSource(nameof(DataSets))]
    public string Data { get; set; } = BenchmarkData.Synthetic;

    [Params(64)]
    public int Ef { get; set; }

    public static IEnumerable<string> DataSets() => BenchmarkData.Available();

    [GlobalSetup]
    public void Setup()
    {
        string snapshot = BenchmarkData.SnapshotFile(Data);
        _dataDir = Directory.CreateTempSubdirectory("annserver-json-bench-").FullName;
        // The server's information lines would land in the middle of BenchmarkDotNet's report.
        Environment.SetEnvironmentVariable("Logging__LogLevel__Default", "Warning");
        _server = AnnServerHost.Build(["--host", "127.0.0.1", "--port", "0", "--metrics-port", "0", "--http-port", "0",
            "--data-dir", _dataDir, "--snapshot", $"{Collection}={snapshot}"]);
        _server.StartAsync().GetAwaiter().GetResult();
        ServerEndpoints endpoints = _server.Services.GetRequiredService<ServerEndpoints>();
        _channel = GrpcChannel.ForAddress($"http://127.0.0.1:{endpoints.GrpcPort}");
        _grpc = new VectorService.VectorServiceClient(_channel);
        _http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{endpoints.HttpPort}") };
        WaitUntilServing();

        var (_, queries) = BenchmarkData.Prepared(Data);
        _grpcRequests = new SearchRequest[queries.Count];
        _jsonBodies = new string[queries.Count];
        for (int q = 0; q < queries.Count; q++)
        {
            float[] query = queries.Row(q).ToArray();
            _grpcRequests[q] = new SearchRequest { Collection = Collection, Query = { query }, K = K, Ef = Ef };
            _jsonBodies[q] = $"{{\"query\": [{string.Join(",", query.Select(v => v.ToString("R", CultureInfo.InvariantCulture)))}], \"k\": {K}, \"ef\": {Ef}}}";
        }
        _next = 0;
    }

    private void WaitUntilServing()
    {
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while (true)
        {
            try
            {
                _grpc.Search(new SearchRequest { Collection = Collection, Query = { new float[BenchmarkData.Prepared(Data).Queries.Dimension] }, K = 1 });
                return;
            }
            catch (Grpc.Core.RpcException) when (DateTime.UtcNow < deadline)
            {
                Thread.Sleep(100); // loading the snapshot
            }
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _http.Dispose();
        _channel.Dispose();
        _server.StopAsync().GetAwaiter().GetResult();
        _server.DisposeAsync().AsTask().GetAwaiter().GetResult();
        Directory.Delete(_dataDir, recursive: true);
    }

    private int NextQuery()
    {
        int q = _next;
        _next = q + 1 == _grpcRequests.Length ? 0 : q + 1;
        return q;
    }

    [Benchmark(Baseline = true, Description = "gRPC Search")]
    public async Task<int> Grpc()
    {
        SearchResponse response = await _grpc.SearchAsync(_grpcRequests[NextQuery()]);
        return response.Hits.Count;
    }

    [Benchmark(Description = "JSON POST /v1/collections/{c}/search")]
    public async Task<int> Json()
    {
        using var content = new StringContent(_jsonBodies[NextQuery()], Encoding.UTF8, "application/json");
        using HttpResponseMessage response = await _http.PostAsync($"/v1/collections/{Collection}/search", content);
        string body = await response.Content.ReadAsStringAsync();
        return response.IsSuccessStatusCode ? body.Length : throw new InvalidOperationException($"{(int)response.StatusCode}: {body}");
    }
}
