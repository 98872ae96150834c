using System.Collections.Concurrent;
using System.Diagnostics;
using AnnServer.Protocol.V1;
using Grpc.Core;

namespace AnnServer.Cluster.Tests;

/// <summary>
/// A steady search load: <c>callers</c> loops, each sending one Search after the other to a router, recording when
/// each call started and ended (on one clock) and how it ended, until stopped.
/// </summary>
public sealed class SearchLoad
{
    public sealed record Call(double StartMs, double EndMs, StatusCode Status, string Detail);

    private readonly ConcurrentQueue<Call> _calls = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    /// <summary>Milliseconds since the load object was made: the clock of every <see cref="Call"/>.</summary>
    public double NowMs => _clock.Elapsed.TotalMilliseconds;

    public IReadOnlyList<Call> Calls => _calls.OrderBy(c => c.StartMs).ToArray();

    public Task RunAsync(AnnServerNode router, string collection, float[] queries, int dimension, int callers, CancellationToken stop) =>
        Task.WhenAll(Enumerable.Range(0, callers).Select(c => Task.Run(async () =>
        {
            int count = queries.Length / dimension;
            for (int i = c; !stop.IsCancellationRequested; i += callers)
            {
                var request = new SearchRequest { Collection = collection, K = 10, Query = { queries.AsSpan(i % count * dimension, dimension).ToArray() } };
                double start = NowMs;
                try
                {
                    await router.Vectors.SearchAsync(request, deadline: DateTime.UtcNow.AddSeconds(5));
                    _calls.Enqueue(new Call(start, NowMs, StatusCode.OK, ""));
                }
                catch (RpcException e)
                {
                    _calls.Enqueue(new Call(start, NowMs, e.StatusCode, e.Status.Detail));
                    await Task.Delay(5); // a failing router must not turn the load into a spin
                }
            }
        })));
}
