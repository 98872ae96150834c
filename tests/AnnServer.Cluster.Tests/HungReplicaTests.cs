using AnnServer.Protocol.V1;
using Grpc.Core;
using Xunit.Abstractions;

namespace AnnServer.Cluster.Tests;

/// <summary>A replica frozen with SIGSTOP (connections open, no answers: a hung machine, not a dead one) under a steady
/// search load: the router's hedge to the twin answers every search; the replica rejoins after SIGCONT.</summary>
[Collection(SharedClusterCollection.Name)]
public sealed class HungReplicaTests(SharedCluster shared, ITestOutputHelper output)
{
    private const int Dimension = 16;
    private LocalCluster Cluster => shared.Cluster;

    [Fact]
    public async Task SearchesAreHedgedAroundAFrozenReplica()
    {
        await shared.BeginAsync(output);
        const string name = "hung";
        var data = new ClusterData(2000, Dimension, seed: 51);
        AnnServerNode router = Cluster.Nodes[0];
        await Cluster.CreateCollectionAsync(router, name, Dimension, shards: 2, replicas: 2);
        Dictionary<uint, ulong> sequences = await data.UpsertAsync(router.Vectors, name);
        await Cluster.WaitUntilCaughtUpAsync(name, sequences, TimeSpan.FromSeconds(60));
        IReadOnlyList<string[]> replicas = await Cluster.ReplicasAsync(name);
        AnnServerNode victim = Cluster.Node(replicas.SelectMany(r => r).First(id => id != router.NodeId));

        var load = new SearchLoad();
        using var stop = new CancellationTokenSource();
        Task running = load.RunAsync(router, name, ClusterData.RandomVectors(300, Dimension, seed: 52), Dimension, callers: 4, stop.Token);
        await Task.Delay(1500);
        double frozenAt = load.NowMs;
        victim.Pause();
        try
        {
            await Task.Delay(4000);
        }
        finally
        {
            victim.Resume();
        }
        double resumedAt = load.NowMs;
        await Task.Delay(1000);
        await stop.CancelAsync();
        await running;

        IReadOnlyList<SearchLoad.Call> calls = load.Calls;
        SearchLoad.Call[] failed = calls.Where(c => c.Status != StatusCode.OK).ToArray();
        SearchLoad.Call[] whileFrozen = calls.Where(c => c.StartMs >= frozenAt && c.StartMs < resumedAt).ToArray();
        double[] ms = whileFrozen.Select(c => c.EndMs - c.StartMs).Order().ToArray();
        output.WriteLine($"{victim.NodeId} frozen 4 s under 4 callers: {whileFrozen.Length} searches started meanwhile, " +
            $"p50 {ms[ms.Length / 2]:F1} / p99 {ms[(int)(ms.Length * 0.99)]:F1} / max {ms[^1]:F1} ms; {failed.Length} failed " +
            $"({string.Join("; ", failed.GroupBy(c => $"{c.Status} {c.Detail}").Select(g => $"{g.Count()}× {g.Key}"))})");
        Assert.True(failed.Length == 0, $"{failed.Length} searches failed, first: {failed.FirstOrDefault()}\n{router.Output}");
        Assert.True(whileFrozen.Length > 20, "the load should have gone on while the replica was frozen");

        // Back: it answers again and the shared cluster is whole for the next test.
        await victim.WaitUntilServingAsync(TimeSpan.FromSeconds(30));
        await Cluster.WaitUntilNodesLiveAsync(Cluster.Nodes.Length, TimeSpan.FromSeconds(30));
        await Cluster.WaitUntilCaughtUpAsync(name, sequences, TimeSpan.FromSeconds(30));
        await Cluster.DropQuietlyAsync(name, output.WriteLine);
    }
}
