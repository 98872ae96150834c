using System.Diagnostics;
using AnnServer.Cluster.Replication;
using AnnServer.Cluster.State;
using AnnServer.Core;
using AnnServer.Core.Snapshots;
using NATS.Client.JetStream;
using NATS.Client.KeyValueStore;
using AnnServer.Protocol.V1;
using NATS.Net;
using Xunit.Abstractions;

namespace AnnServer.Cluster.Tests;

/// <summary>
/// Stream trimming end to end: three nodes that checkpoint every 20 records (so their replicas upload snapshots) and
/// trim every 300 ms. The stream's front goes once a snapshot and both replicas have it on disk; a replica that is down
/// holds the trim back at its position and finds everything after it when it restarts; a replica assigned after the
/// trim starts from the snapshot and gets every point; an int4 collection's replicas store int4 snapshots, and a new
/// replica starts from one. Its own cluster, not the shared one: the other tests rely on
/// replicas that never checkpoint. Its nodes start all at once (the shared cluster's start one by one), so that the
/// suite still sees nodes racing to create the cluster state on a fresh JetStream. It runs beside the other parallel
/// classes (see TestParallelization.cs): it kills a node but times nothing, and its waits allow 30-60 s.
/// </summary>
public sealed class StreamTrimClusterTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int Dimension = 16;
    private const string Name = "trimmed";
    private LocalCluster? _cluster;

    public async Task InitializeAsync() =>
        _cluster = await LocalCluster.StartAsync(3, NodeStart.AllAtOnce, "--stream-trim-interval-ms", "300", "--checkpoint-records", "20");

    public async Task DisposeAsync()
    {
        if (_cluster is not null) await _cluster.DisposeAsync();
    }

    [Fact]
    public async Task NodesTrimTheirStreamsWithoutLosingAWriteForADownReplicaOrANewOne()
    {
        LocalCluster cluster = _cluster!;
        var phases = new PhaseLog(output);
        output.WriteLine(cluster.StartupReport);
        var data = new ClusterData(2000, Dimension, seed: 21);
        int[] rows = Enumerable.Range(0, data.Count).ToArray();
        AnnServerNode router = cluster.Nodes[0];
        await cluster.CreateCollectionAsync(router, Name, Dimension, shards: 1, replicas: 2);
        string[] holders = (await cluster.ReplicasAsync(Name))[0];
        await using NatsClient client = cluster.Nats.Connect();
        INatsJSContext js = client.CreateJetStreamContext();
        string stream = ShardStreamNames.Stream(Name, 0);

        // 1. Writes in records of 10 points: checkpoints, uploads, and the front of the stream goes.
        Dictionary<uint, ulong> sequences = await data.UpsertAsync(router.Vectors, Name, batch: 10, to: 1000);
        await cluster.WaitUntilCaughtUpAsync(Name, sequences, TimeSpan.FromSeconds(60));
        ulong first = await WaitForFirstSequenceAsync(js, stream, above: 1, TimeSpan.FromSeconds(30));
        phases.Mark($"1,000 points in {sequences[0]} records; the stream starts at {first}");

        // What was trimmed shows on the nodes' /metrics (their sum: each range is purged once) and in GetClusterState, with
        // each replica's durable sequence, once everything written is on both replicas' disks and the trims have settled.
        first = await WaitForTrimFiguresAsync(cluster, js, stream, holders, sequences[0], TimeSpan.FromSeconds(60));
        phases.Mark($"settled: the stream starts at {first}, the nodes' annserver_stream_trimmed_messages_total sum to {first - 1}, " +
                    $"GetClusterState shows first sequence {first} and both replicas durable at {sequences[0]}");

        // 2. A replica down: the trim stops at what it has on disk, so that it finds the rest after its restart.
        AnnServerNode down = cluster.Node(holders[1]);
        AnnServerNode up = cluster.Node(holders[0]);
        ulong beforeKill = sequences[0];
        await down.KillAsync();
        ClusterData.Merge(sequences, await data.UpsertAsync(up.Vectors, Name, batch: 10, from: 1000, to: 1600));
        await Task.Delay(1500); // five trim intervals
        ulong whileDown = await FirstSequenceAsync(js, stream);
        Assert.True(whileDown <= beforeKill + 1, $"the stream starts at {whileDown} while a replica that had applied at most {beforeKill} is down");
        // GetClusterState keeps showing the down replica's last report: that is what holds the trim back.
        ShardState shardWhileDown = await ShardWithStreamAsync(cluster, TimeSpan.FromSeconds(30));
        Assert.Equal(beforeKill, shardWhileDown.Replicas.Single(r => r.NodeId == down.NodeId).DurableSequence);
        Assert.InRange(shardWhileDown.FirstSequence, first, beforeKill + 1);
        await down.StartAsync(waitUntilServing: true, timeout: TimeSpan.FromSeconds(60));
        await cluster.WaitUntilCaughtUpAsync(Name, sequences, TimeSpan.FromSeconds(60));
        Assert.Equal(1600, (await data.HeldRowsAsync(down, Name, 0, rows[..1600], sequences[0])).Count);
        phases.Mark($"{down.NodeId} was down at sequence {beforeKill}, the stream started at {whileDown} meanwhile; restarted with all 1,600 points");

        // 3. More writes, the trim moves past where the replica was down, and a new replica still gets every point.
        ClusterData.Merge(sequences, await data.UpsertAsync(router.Vectors, Name, batch: 10, from: 1600));
        await cluster.WaitUntilCaughtUpAsync(Name, sequences, TimeSpan.FromSeconds(60));
        first = await WaitForFirstSequenceAsync(js, stream, above: beforeKill + 1, TimeSpan.FromSeconds(30));
        AnnServerNode newcomer = cluster.Nodes.Single(n => !holders.Contains(n.NodeId));
        var catchUp = Stopwatch.StartNew();
        await router.Cluster.AssignReplicaAsync(new AssignReplicaRequest { Collection = Name, Shard = 0, NodeId = newcomer.NodeId },
            deadline: DateTime.UtcNow.AddSeconds(30));
        await cluster.WaitUntilCaughtUpAsync(Name, sequences, TimeSpan.FromSeconds(60));
        Assert.Equal(data.Count, (await data.HeldRowsAsync(newcomer, Name, 0, rows, sequences[0])).Count);
        Assert.Equal(data.Count, (await data.HeldRowsAsync(up, Name, 0, rows, sequences[0])).Count);
        phases.Mark($"stream starts at {first} of {sequences[0]}; new replica on {newcomer.NodeId} serving all {data.Count} points " +
                    $"{catchUp.ElapsedMilliseconds} ms after AssignReplica");
        await cluster.DropQuietlyAsync(Name, output.WriteLine);
    }

    [Fact]
    public async Task AnInt4ReplicaStoresInt4SnapshotsAndANewReplicaStartsFromOne()
    {
        LocalCluster cluster = _cluster!;
        output.WriteLine(cluster.StartupReport);
        const string name = "trimmed4";
        var data = new ClusterData(600, Dimension, seed: 23);
        AnnServerNode router = cluster.Nodes[0];
        await cluster.CreateCollectionAsync(router, name, Dimension, shards: 1, replicas: 2, Quantization.Int4);
        string[] holders = (await cluster.ReplicasAsync(name))[0];
        await using NatsClient client = cluster.Nats.Connect();
        INatsJSContext js = client.CreateJetStreamContext();

        // 60 records: the replicas checkpoint, upload, and the stream's front goes.
        Dictionary<uint, ulong> sequences = await data.UpsertAsync(router.Vectors, name, batch: 10);
        await cluster.WaitUntilCaughtUpAsync(name, sequences, TimeSpan.FromSeconds(60));
        ulong first = await WaitForFirstSequenceAsync(js, ShardStreamNames.Stream(name, 0), above: 1, TimeSpan.FromSeconds(30));

        INatsKVStore state = await new NatsKVContext(js).GetStoreAsync(ClusterKeys.ClusterBucket);
        ClusterCollectionSpec spec = ClusterJson.TryDeserialize<ClusterCollectionSpec>(
            (await state.GetEntryAsync<byte[]>(ClusterKeys.Collection(name))).Value)!;
        using var folder = new TempFolder();
        string download = Path.Combine(folder.Path, "head.snap");
        ulong? covered = await new ShardSnapshotStore(js).TryDownloadAsync(name, 0, spec.CreatedUnixMs, spec.StreamReplicas, download,
            CancellationToken.None);
        Assert.NotNull(covered);
        SnapshotInfo stored = Snapshot.ReadInfo(download);
        Assert.Equal(VectorQuantization.Int4, stored.Quantization);
        output.WriteLine($"the stream starts at {first}; the stored snapshot covers sequence {covered}: {stored.LiveCount} points, {stored.Quantization}");

        // A replica assigned now cannot replay the stream from 1: it starts from that snapshot, and holds every point.
        AnnServerNode newcomer = cluster.Nodes.Single(n => !holders.Contains(n.NodeId));
        await router.Cluster.AssignReplicaAsync(new AssignReplicaRequest { Collection = name, Shard = 0, NodeId = newcomer.NodeId },
            deadline: DateTime.UtcNow.AddSeconds(30));
        await cluster.WaitUntilCaughtUpAsync(name, sequences, TimeSpan.FromSeconds(60));
        int[] rows = Enumerable.Range(0, data.Count).ToArray();
        Assert.Equal(data.Count, (await data.HeldRowsAsync(newcomer, name, 0, rows, sequences[0])).Count);
        await cluster.DropQuietlyAsync(name, output.WriteLine);
    }

    private static ShardState Shard(ClusterState state) => state.Collections.Single(c => c.Info.Name == Name).Shards.Single();

    /// <summary>The shard's state once GetClusterState could read its stream (it reports 0 and 0 for a stream info
    /// request that failed, which a busy NATS may let happen).</summary>
    private static async Task<ShardState> ShardWithStreamAsync(LocalCluster cluster, TimeSpan timeout)
    {
        DateTime deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            ShardState shard = Shard(await cluster.StateAsync());
            if (shard.LastSequence > 0 || DateTime.UtcNow > deadline) return shard;
            await Task.Delay(200);
        }
    }

    /// <summary>
    /// Waits until the trims have settled and every figure agrees: the stream starts at first; the nodes'
    /// annserver_stream_trimmed_messages_total (read over HTTP from each node's /metrics) sum to first − 1; GetClusterState
    /// shows that first sequence, the last sequence <paramref name="last"/>, and both <paramref name="holders"/> durable at
    /// <paramref name="last"/>. Returns first.
    /// </summary>
    private async Task<ulong> WaitForTrimFiguresAsync(LocalCluster cluster, INatsJSContext js, string stream, string[] holders, ulong last,
        TimeSpan timeout)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        DateTime deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            ulong first = await FirstSequenceAsync(js, stream);
            var trimmed = new List<double>();
            foreach (AnnServerNode node in cluster.Nodes)
                trimmed.Add(ReadMetric(await http.GetStringAsync($"http://127.0.0.1:{node.MetricsPort}/metrics"), "annserver_stream_trimmed_messages_total")
                    ?? throw new InvalidOperationException($"{node.NodeId}'s /metrics has no annserver_stream_trimmed_messages_total"));
            ShardState shard = Shard(await cluster.StateAsync());
            ulong[] durable = [.. holders.Select(id => shard.Replicas.Single(r => r.NodeId == id).DurableSequence)];
            if (trimmed.Sum() == first - 1 && shard.FirstSequence == first && shard.LastSequence == last && durable.All(d => d == last))
                return first;
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"after {timeout.TotalSeconds} s: the stream starts at {first}; trimmed per node " +
                    $"[{string.Join(", ", trimmed)}]; GetClusterState: {shard} (replicas of {string.Join(", ", holders)} should be durable at {last})\n{cluster.Output}");
            await Task.Delay(200);
        }
    }

    /// <summary>The value of an unlabelled metric in Prometheus' text format, or null when it is not there.</summary>
    private static double? ReadMetric(string exposition, string name)
    {
        foreach (string line in exposition.Split('\n'))
            if (line.StartsWith(name + " ", StringComparison.Ordinal))
                return double.Parse(line[(name.Length + 1)..], System.Globalization.CultureInfo.InvariantCulture);
        return null;
    }

    private static async Task<ulong> FirstSequenceAsync(INatsJSContext js, string stream) =>
        (await js.GetStreamAsync(stream)).Info.State.FirstSeq;

    private async Task<ulong> WaitForFirstSequenceAsync(INatsJSContext js, string stream, ulong above, TimeSpan timeout)
    {
        DateTime deadline = DateTime.UtcNow + timeout;
        ulong first;
        while ((first = await FirstSequenceAsync(js, stream)) <= above)
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"stream {stream} still starts at {first} (waited for more than {above})\n{_cluster!.Output}");
            await Task.Delay(100);
        }
        return first;
    }
}
