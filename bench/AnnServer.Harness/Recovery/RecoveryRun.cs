using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using AnnServer.Datasets;
using AnnServer.Protocol.V1;
using Grpc.Core;
using Grpc.Net.Client;

namespace AnnServer.Harness.Recovery;

/// <summary>What one restart on a crash image measured.</summary>
/// <param name="ServingSeconds">from the process start to the first search that found the last acknowledged point.</param>
/// <param name="ReadySeconds">from the process start to the collection's state READY (its log fully in the graph).</param>
/// <param name="SearchMillisWhileReplaying">median latency of the searches made between serving and ready (0: none).</param>
public sealed record RecoveryResult(int LogPoints, long LogBytes, double ServingSeconds, double ReadySeconds, double SearchMillisWhileReplaying,
    ulong CountAtServing);

/// <summary>Starts a real server on a crash image and times how long it takes to serve, and to finish its replay.</summary>
public static class RecoveryRun
{
    public static async Task<RecoveryResult> MeasureAsync(string serverDll, string dataDir, string collection, VectorSet tail, int logPoints,
        long firstTailId, IReadOnlyList<string> serverArguments, TimeSpan timeout)
    {
        int port = FreePort(), metricsPort = FreePort();
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string argument in (string[])[serverDll, "--host", "127.0.0.1", "--port", port.ToString(), "--metrics-port", metricsPort.ToString(), "--http-port", "-1",
                     "--data-dir", dataDir, .. serverArguments])
            start.ArgumentList.Add(argument);
        long logBytes = Directory.EnumerateFiles(Path.Combine(dataDir, collection, "log")).Sum(f => new FileInfo(f).Length);

        var clock = Stopwatch.StartNew();
        using Process server = Process.Start(start)!;
        server.OutputDataReceived += (_, _) => { };
        server.ErrorDataReceived += (_, _) => { };
        server.BeginOutputReadLine();
        server.BeginErrorReadLine();
        try
        {
            using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{port}");
            var vectors = new VectorService.VectorServiceClient(channel);
            var collections = new CollectionService.CollectionServiceClient(channel);
            // The last point of the log is the last write acknowledged before the crash: serving means finding it.
            long lastId = firstTailId + logPoints - 1;
            SearchRequest probe = logPoints > 0
                ? Search(collection, tail.Row(logPoints - 1))
                : Search(collection, tail.Row(0));
            double serving = 0, ready = 0;
            ulong countAtServing = 0;
            var latencies = new List<double>();
            while (clock.Elapsed < timeout)
            {
                if (server.HasExited) throw new InvalidOperationException($"the server exited with code {server.ExitCode}");
                try
                {
                    if (serving == 0)
                    {
                        SearchResponse found = await vectors.SearchAsync(probe, deadline: DateTime.UtcNow.AddSeconds(30));
                        if (logPoints > 0 && (found.Hits.Count == 0 || found.Hits[0].Id != lastId))
                            throw new InvalidOperationException($"serving, but the search for the last acknowledged point {lastId} found " +
                                                                (found.Hits.Count == 0 ? "nothing" : $"id {found.Hits[0].Id}"));
                        serving = clock.Elapsed.TotalSeconds;
                    }
                    CollectionInfo info = await collections.GetCollectionInfoAsync(new GetCollectionInfoRequest { Name = collection });
                    if (countAtServing == 0) countAtServing = info.Count;
                    if (info.State == CollectionState.Ready)
                    {
                        ready = clock.Elapsed.TotalSeconds;
                        break;
                    }
                    long before = Stopwatch.GetTimestamp();
                    await vectors.SearchAsync(Search(collection, tail.Row(latencies.Count % tail.Count)));
                    latencies.Add(Stopwatch.GetElapsedTime(before).TotalMilliseconds);
                }
                catch (RpcException e) when (e.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded)
                {
                    // Not listening yet, or still loading.
                }
                await Task.Delay(serving == 0 ? 20 : 200);
            }
            if (ready == 0) throw new TimeoutException($"the collection was not READY within {timeout}");
            latencies.Sort();
            return new RecoveryResult(logPoints, logBytes, serving, ready, latencies.Count == 0 ? 0 : latencies[latencies.Count / 2], countAtServing);
        }
        finally
        {
            if (!server.HasExited) server.Kill(entireProcessTree: true);
            await server.WaitForExitAsync();
        }
    }

    private static SearchRequest Search(string collection, ReadOnlySpan<float> query)
    {
        var request = new SearchRequest { Collection = collection, K = 10, Ef = 64 };
        request.Query.AddRange(query.ToArray());
        return request;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
