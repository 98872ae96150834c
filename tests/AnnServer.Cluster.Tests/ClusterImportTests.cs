using System.Text.Json.Nodes;
using AnnServer.Cluster.Replication;
using AnnServer.Cluster.State;
using AnnServer.Core;
using AnnServer.Core.Sharding;
using AnnServer.Core.Snapshots;
using AnnServer.Protocol.V1;
using Grpc.Core;
using NATS.Client.JetStream;
using NATS.Client.KeyValueStore;
using NATS.Client.ObjectStore;
using NATS.Client.ObjectStore.Models;
using NATS.Net;
using Xunit.Abstractions;

namespace AnnServer.Cluster.Tests;

/// <summary>
/// LoadSnapshot in cluster mode on the shared three-node cluster: shard files written as <c>ann-build build --shards</c>
/// writes them (same names, same shard rule, <see cref="ShardHash.ShardOf"/>) into the nodes' --import-dir become a
/// cluster collection that serves every point, takes writes through its streams, and rebuilds a replica whose node was
/// SIGKILLed and lost its data folder; int4 files make an int4 collection whose replicas serve the files' codes; bad file sets are refused with the right code and leave nothing in the object
/// store or the heads bucket.
/// </summary>
[Collection(SharedClusterCollection.Name)]
public sealed class ClusterImportTests(SharedCluster shared, ITestOutputHelper output)
{
    private const int Dimension = 8;
    private const int Shards = 3;

    [Fact]
    public async Task ImportedShardsServeExactTopKTakeUpsertsAndRebuildAReplicaThatLostItsFolder()
    {
        var phases = new PhaseLog(output);
        LocalCluster cluster = await shared.BeginAsync(output);
        const string name = "imported";
        var data = new ClusterData(600, Dimension, seed: 41);
        WriteShardFiles(data, "items", Shards);
        AnnServerNode receiver = cluster.Nodes[0];

        LoadSnapshotResponse loaded = await receiver.Collections.LoadSnapshotAsync(
            new LoadSnapshotRequest { Name = name, Path = "items.snap", Replicas = 2 }, deadline: DateTime.UtcNow.AddSeconds(60));
        Assert.Equal((uint)Shards, loaded.Info.Shards);
        Assert.Equal(2u, loaded.Info.Replicas);
        Assert.Equal((uint)Dimension, loaded.Info.Dimension);
        await cluster.WaitUntilCaughtUpAsync(name, new Dictionary<uint, ulong>(), TimeSpan.FromSeconds(60));
        phases.Mark($"imported {data.Count} points in {Shards} shards ({loaded.Bytes} bytes, {loaded.DurationMicros / 1000} ms)");

        // Exact top-k through a router (no replica of its own): ef above a shard's size makes every shard's search
        // exhaustive, so the merged answer is the brute-force one.
        AnnServerNode router = await shared.RouterSeeingAsync(name);
        float[] queries = ClusterData.RandomVectors(30, Dimension, seed: 42);
        const int k = 10;
        var results = new List<long[]>();
        for (int q = 0; q < 30; q++)
        {
            SearchResponse response = await router.Vectors.SearchAsync(new SearchRequest
            {
                Collection = name, Query = { queries.AsSpan(q * Dimension, Dimension).ToArray() }, K = k, Ef = 400,
            }, deadline: DateTime.UtcNow.AddSeconds(30));
            Assert.Empty(response.MissingShards);
            results.Add(response.Hits.Select(h => h.Id).ToArray());
        }
        double recall = data.Recall(queries, k, results);
        output.WriteLine($"recall@{k} through the router against brute force: {recall:F4}");
        Assert.Equal(1.0, recall);

        // Writes after the import go through the streams like any other.
        var fresh = new ClusterData(60, Dimension, seed: 43, firstRow: data.Count);
        Dictionary<uint, ulong> sequences = await fresh.UpsertAsync(cluster.Nodes[1].Vectors, name);
        await cluster.WaitUntilCaughtUpAsync(name, sequences, TimeSpan.FromSeconds(30));
        for (int i = 0; i < fresh.Count; i += 7)
        {
            SearchResponse response = await router.Vectors.SearchAsync(new SearchRequest
            {
                Collection = name, Query = { fresh.Row(i) }, K = 1, MinSequences = { ClusterData.AsShardSequences(sequences) },
            }, deadline: DateTime.UtcNow.AddSeconds(30));
            Assert.Equal(fresh.Ids[i], Assert.Single(response.Hits).Id);
        }
        phases.Mark($"{fresh.Count} points upserted after the import, found through the router");

        // A replica's node SIGKILLed, its whole data folder deleted, restarted: the replica is rebuilt from the
        // imported snapshot (the streams hold only the upserts) plus the stream.
        IReadOnlyList<string[]> replicas = await cluster.ReplicasAsync(name);
        string victimId = replicas.SelectMany(r => r).First(id => id != receiver.NodeId);
        AnnServerNode victim = cluster.Node(victimId);
        int[] victimShards = Enumerable.Range(0, Shards).Where(s => replicas[s].Contains(victimId)).ToArray();
        await victim.KillAsync();
        Directory.Delete(victim.DataDir, recursive: true);
        Directory.CreateDirectory(victim.DataDir);
        await victim.StartAsync(waitUntilServing: true, timeout: TimeSpan.FromSeconds(60));
        await cluster.WaitUntilCaughtUpAsync(name, sequences, TimeSpan.FromSeconds(60));
        phases.Mark($"{victimId} killed, its folder deleted, restarted and caught up (shards {string.Join(",", victimShards)})");
        foreach (int shard in victimShards)
        {
            int[] imported = data.RowsOfShard(shard, Shards);
            int[] upserted = fresh.RowsOfShard(shard, Shards);
            Assert.Equal(imported.Length, (await data.HeldRowsAsync(victim, name, (uint)shard, imported, sequences.GetValueOrDefault((uint)shard))).Count);
            Assert.Equal(upserted.Length, (await fresh.HeldRowsAsync(victim, name, (uint)shard, upserted, sequences.GetValueOrDefault((uint)shard))).Count);
        }
        await cluster.DropQuietlyAsync(name, output.WriteLine);
    }

    [Fact]
    public async Task Int4ShardFilesMakeAnInt4CollectionWhoseReplicasServeTheirCodes()
    {
        LocalCluster cluster = await shared.BeginAsync(output);
        const string name = "imported_int4", local = "imported_int4_local";
        var data = new ClusterData(600, Dimension, seed: 71);
        WriteShardFiles(data, "codes", Shards, VectorQuantization.Int4);
        AnnServerNode receiver = cluster.Nodes[0];

        LoadSnapshotResponse loaded = await receiver.Collections.LoadSnapshotAsync(
            new LoadSnapshotRequest { Name = name, Path = "codes.snap", Replicas = 2 }, deadline: DateTime.UtcNow.AddSeconds(60));
        Assert.Equal(Quantization.Int4, loaded.Info.Quantization);
        await cluster.WaitUntilCaughtUpAsync(name, new Dictionary<uint, ulong>(), TimeSpan.FromSeconds(60));

        // The spec in the state bucket names int4, and gives nodes of earlier versions nothing they can read as a bool.
        await using (NatsClient client = cluster.Nats.Connect("import-int4"))
        {
            INatsKVStore state = await new NatsKVContext(client.CreateJetStreamContext()).GetStoreAsync(ClusterKeys.ClusterBucket);
            JsonObject stored = JsonNode.Parse((await state.GetEntryAsync<byte[]>(ClusterKeys.Collection(name))).Value)!.AsObject();
            Assert.Equal("int4", stored["quantization"]!.GetValue<string>());
            Assert.True(stored.ContainsKey("int8Quantization"));
            Assert.Null(stored["int8Quantization"]);
        }

        // One node's int4 collection of the same points: the same codes give the same estimates.
        await receiver.Collections.CreateCollectionAsync(new CreateCollectionRequest
            { Name = local, Dimension = Dimension, Metric = Metric.L2, M = 12, EfConstruction = 100, Quantization = Quantization.Int4 });
        await data.UpsertAsync(receiver.Vectors, local);

        AnnServerNode router = await shared.RouterSeeingAsync(name);
        Assert.Equal(Quantization.Int4, (await router.Collections.GetCollectionInfoAsync(new GetCollectionInfoRequest { Name = name })).Quantization);
        float[] queries = ClusterData.RandomVectors(20, Dimension, seed: 72);
        const int k = 10;
        var results = new List<long[]>();
        int hits = 0, onBoth = 0;
        for (int q = 0; q < 20; q++)
        {
            float[] query = queries.AsSpan(q * Dimension, Dimension).ToArray();
            SearchResponse rescored = await router.Vectors.SearchAsync(new SearchRequest { Collection = name, Query = { query }, K = k, Ef = 400 },
                deadline: DateTime.UtcNow.AddSeconds(30));
            Assert.Empty(rescored.MissingShards);
            results.Add(rescored.Hits.Select(h => h.Id).ToArray());

            var codes = new QuantizationParams { Rescore = false };
            SearchResponse clustered = await router.Vectors.SearchAsync(new SearchRequest
                { Collection = name, Query = { query }, K = k, Ef = 400, Quantization = codes }, deadline: DateTime.UtcNow.AddSeconds(30));
            SearchResponse single = await receiver.Vectors.SearchAsync(new SearchRequest
                { Collection = local, Query = { query }, K = k, Ef = 400, Quantization = codes }, deadline: DateTime.UtcNow.AddSeconds(30));
            Dictionary<long, float> onOneNode = single.Hits.ToDictionary(h => h.Id, h => h.Distance);
            foreach (Hit hit in clustered.Hits)
            {
                hits++;
                if (onOneNode.TryGetValue(hit.Id, out float distance))
                {
                    onBoth++;
                    Assert.Equal(distance, hit.Distance);
                }
            }
        }
        double recall = data.Recall(queries, k, results);
        output.WriteLine($"imported int4: recall@{k} through the router {recall:F4}; without the re-rank {onBoth} of {hits} hits also one node's");
        Assert.Equal(1.0, recall); // ef above a shard's size: every shard's walk is exhaustive, and the re-rank exact
        Assert.True(onBoth >= hits * 9 / 10, $"{onBoth} of {hits} hits through the router are also one node's");
        await cluster.DropQuietlyAsync(name, output.WriteLine);
        await cluster.DropQuietlyAsync(local, output.WriteLine);
    }

    [Fact]
    public async Task AReplicaOfAnImportedCollectionWaitsForItsSnapshotInsteadOfStartingEmpty()
    {
        var phases = new PhaseLog(output);
        LocalCluster cluster = await shared.BeginAsync(output);
        const string name = "imported_wait";
        var data = new ClusterData(200, Dimension, seed: 61);
        WriteShardFiles(data, "wait", 2);
        AnnServerNode receiver = cluster.Nodes[0];
        await receiver.Collections.LoadSnapshotAsync(new LoadSnapshotRequest { Name = name, Path = "wait.snap", Replicas = 2 },
            deadline: DateTime.UtcNow.AddSeconds(60));
        await cluster.WaitUntilCaughtUpAsync(name, new Dictionary<uint, ulong>(), TimeSpan.FromSeconds(60));

        await using NatsClient client = cluster.Nats.Connect("import-wait");
        INatsJSContext js = client.CreateJetStreamContext();
        INatsKVStore state = await new NatsKVContext(js).GetStoreAsync(ClusterKeys.ClusterBucket);
        ClusterCollectionSpec spec = ClusterJson.TryDeserialize<ClusterCollectionSpec>(
            (await state.GetEntryAsync<byte[]>(ClusterKeys.Collection(name))).Value)!;
        Assert.True(spec.SeededFromSnapshot);

        // A node holding shard 0 loses its folder while shard 0's snapshot is gone from the store.
        string victimId = spec.ShardReplicaNodeIds[0].First(id => id != receiver.NodeId);
        AnnServerNode victim = cluster.Node(victimId);
        await victim.KillAsync();
        Directory.Delete(victim.DataDir, recursive: true);
        Directory.CreateDirectory(victim.DataDir);
        var store = new ShardSnapshotStore(js);
        await store.DeleteUploadsAsync(name, 1, spec.CreatedUnixMs, CancellationToken.None);
        await victim.StartAsync(waitUntilServing: false);
        phases.Mark($"{victimId} restarted with no folder and no snapshot of shard 0 in the store");

        // It must not serve shard 0 from an empty index: it says why in its log, and its replica answers no shard
        // search (an empty one would answer, without the points) for as long as the snapshot is missing. (The cluster
        // state is no witness here: it keeps the killed process's last entry, serving, until the new one reports.)
        DateTime deadline = DateTime.UtcNow.AddSeconds(30);
        while (!victim.FullOutput.Contains("never empty", StringComparison.Ordinal))
        {
            Assert.True(DateTime.UtcNow < deadline, $"no log line saying the replica waits for its snapshot within 30 s:\n{victim.Output}");
            await Task.Delay(100);
        }
        int[] rows = data.RowsOfShard(0, 2);
        DateTime until = DateTime.UtcNow.AddSeconds(3);
        while (DateTime.UtcNow < until)
        {
            StatusCode answered = await ClusterData.StatusOfAsync(() => data.HeldRowsAsync(victim, name, 0, rows[..1]));
            Assert.NotEqual(StatusCode.OK, answered);
            await Task.Delay(200);
        }
        phases.Mark($"{victimId} logged that it waits for the snapshot and answered no search of shard 0 for 3 s");

        // The snapshot back in the store: the retry takes it, and the replica serves every imported point.
        Assert.True(await store.UploadAsync(name, 0, spec.CreatedUnixMs, spec.StreamReplicas, 0,
            Path.Combine(shared.ImportDirectory.Path, "wait.shard-0-of-2.snap"), CancellationToken.None));
        await cluster.WaitUntilCaughtUpAsync(name, new Dictionary<uint, ulong>(), TimeSpan.FromSeconds(60));
        Assert.Equal(rows.Length, (await data.HeldRowsAsync(victim, name, 0, rows)).Count);
        phases.Mark($"{victimId} took the snapshot once it was back and serves shard 0's {rows.Length} points");
        await cluster.DropQuietlyAsync(name, output.WriteLine);
    }

    [Fact]
    public async Task BadShardFileSetsAreRefusedAndLeaveNothingBehind()
    {
        LocalCluster cluster = await shared.BeginAsync(output);
        AnnServerNode receiver = cluster.Nodes[0];
        var data = new ClusterData(150, Dimension, seed: 51);

        // Shard 1 of 3 missing.
        WriteShardFiles(data, "missing", Shards);
        File.Delete(Path.Combine(shared.ImportDirectory.Path, "missing.shard-1-of-3.snap"));
        await AssertRefusedAsync(cluster, receiver, "import_missing", "missing.snap", StatusCode.FailedPrecondition, "missing.shard-1-of-3.snap");

        // Shard 2 built with another dimension.
        WriteShardFiles(data, "mixed", Shards);
        var other = new ClusterData(150, Dimension + 4, seed: 52);
        WriteShardFile(other, other.RowsOfShard(2, Shards), Path.Combine(shared.ImportDirectory.Path, "mixed.shard-2-of-3.snap"));
        await AssertRefusedAsync(cluster, receiver, "import_mixed", "mixed.snap", StatusCode.InvalidArgument, "mixed.shard-2-of-3.snap");

        // A point of shard 1 in shard 0's file.
        WriteShardFiles(data, "stray", Shards);
        int[] rows = [.. data.RowsOfShard(0, Shards), data.RowsOfShard(1, Shards)[0]];
        WriteShardFile(data, rows, Path.Combine(shared.ImportDirectory.Path, "stray.shard-0-of-3.snap"));
        await AssertRefusedAsync(cluster, receiver, "import_stray", "stray.snap", StatusCode.InvalidArgument, $"point id {data.Ids[data.RowsOfShard(1, Shards)[0]]}");

        // A damaged file: one byte flipped in the middle.
        WriteShardFiles(data, "damaged", Shards);
        string damaged = Path.Combine(shared.ImportDirectory.Path, "damaged.shard-1-of-3.snap");
        byte[] bytes = await File.ReadAllBytesAsync(damaged);
        bytes[bytes.Length / 2] ^= 0xFF;
        await File.WriteAllBytesAsync(damaged, bytes);
        await AssertRefusedAsync(cluster, receiver, "import_damaged", "damaged.snap", StatusCode.InvalidArgument, "damaged.shard-1-of-3.snap");

        // The name of an existing cluster collection: refused, and the existing collection's snapshots are untouched.
        await cluster.CreateCollectionAsync(receiver, "import_taken", Dimension, shards: 1, replicas: 1);
        WriteShardFiles(data, "taken", Shards);
        RpcException taken = await Assert.ThrowsAsync<RpcException>(() => receiver.Collections.LoadSnapshotAsync(
            new LoadSnapshotRequest { Name = "import_taken", Path = "taken.snap" }, deadline: DateTime.UtcNow.AddSeconds(60)).ResponseAsync);
        Assert.Equal(StatusCode.AlreadyExists, taken.StatusCode);
        Assert.Equal(1u, (await receiver.Collections.GetCollectionInfoAsync(new GetCollectionInfoRequest { Name = "import_taken" })).Shards);
        await cluster.DropQuietlyAsync("import_taken", output.WriteLine);

        // UploadSnapshot: not in cluster mode, said so.
        using (var upload = receiver.Collections.UploadSnapshot(deadline: DateTime.UtcNow.AddSeconds(30)))
        {
            await upload.RequestStream.WriteAsync(new UploadSnapshotRequest
            {
                Header = new UploadSnapshotHeader { Name = "import_upload", TotalBytes = 1, Sha256 = Google.Protobuf.ByteString.CopyFrom(new byte[32]) },
            });
            await upload.RequestStream.WriteAsync(new UploadSnapshotRequest { Chunk = Google.Protobuf.ByteString.CopyFrom([1]) });
            await upload.RequestStream.CompleteAsync();
            RpcException refused = await Assert.ThrowsAsync<RpcException>(() => upload.ResponseAsync);
            Assert.Equal(StatusCode.FailedPrecondition, refused.StatusCode);
            Assert.Contains("LoadSnapshot", refused.Status.Detail);
        }
    }

    private async Task AssertRefusedAsync(LocalCluster cluster, AnnServerNode receiver, string name, string path, StatusCode code, string named)
    {
        RpcException refused = await Assert.ThrowsAsync<RpcException>(() => receiver.Collections.LoadSnapshotAsync(
            new LoadSnapshotRequest { Name = name, Path = path }, deadline: DateTime.UtcNow.AddSeconds(60)).ResponseAsync);
        output.WriteLine($"{path}: {refused.StatusCode} {refused.Status.Detail}");
        Assert.Equal(code, refused.StatusCode);
        Assert.Contains(named, refused.Status.Detail);
        ListCollectionsResponse listed = await receiver.Collections.ListCollectionsAsync(new ListCollectionsRequest());
        Assert.DoesNotContain(listed.Collections, c => c.Name == name);
        Assert.Empty(await LeftoversAsync(cluster, name));
    }

    /// <summary>Heads and live objects of <paramref name="collection"/> in the snapshot store's buckets.</summary>
    private static async Task<List<string>> LeftoversAsync(LocalCluster cluster, string collection)
    {
        await using NatsClient client = cluster.Nats.Connect("import-leftovers");
        INatsJSContext js = client.CreateJetStreamContext();
        var found = new List<string>();
        try
        {
            INatsKVStore heads = await new NatsKVContext(js).GetStoreAsync(ShardSnapshotStore.HeadsBucket);
            for (int shard = 0; shard < Shards; shard++)
            {
                try
                {
                    NatsKVEntry<byte[]> entry = await heads.GetEntryAsync<byte[]>(ShardSnapshotStore.HeadKey(collection, shard));
                    found.Add($"head {entry.Key}");
                }
                catch (Exception e) when (e is NatsKVKeyNotFoundException or NatsKVKeyDeletedException)
                {
                }
            }
        }
        catch (NatsJSApiException)
        {
            // No heads bucket: no heads.
        }
        try
        {
            // Listing an empty bucket waits for a first object (ShardSnapshotStore.DeleteAsync): look at its stream first.
            INatsJSStream stream = await js.GetStreamAsync($"OBJ_{ShardSnapshotStore.Bucket}");
            if (stream.Info.State.Messages > 0)
            {
                INatsObjStore objects = await new NatsObjContext(js).GetObjectStoreAsync(ShardSnapshotStore.Bucket);
                await foreach (ObjectMetadata info in objects.ListAsync())
                    if (!info.Deleted && info.Name.StartsWith(collection + "/", StringComparison.Ordinal))
                        found.Add($"object {info.Name}");
            }
        }
        catch (NatsJSApiException)
        {
            // No object bucket: no objects.
        }
        return found;
    }

    /// <summary>The files <c>ann-build build --shards <paramref name="shards"/> --output STEM.snap</c> writes, in the
    /// import directory: STEM.shard-{i}-of-{S}.snap, each with the points whose id the cluster's rule sends to shard i
    /// (each point labelled with its row, for <see cref="ClusterData.HeldRowsAsync"/>).</summary>
    private void WriteShardFiles(ClusterData data, string stem, int shards, VectorQuantization quantization = VectorQuantization.None)
    {
        for (int shard = 0; shard < shards; shard++)
            WriteShardFile(data, data.RowsOfShard(shard, shards), Path.Combine(shared.ImportDirectory.Path, $"{stem}.shard-{shard}-of-{shards}.snap"), quantization);
    }

    private static void WriteShardFile(ClusterData data, IEnumerable<int> rows, string path, VectorQuantization quantization = VectorQuantization.None)
    {
        using var index = new HnswIndex(new HnswOptions
            { Dimension = data.Dimension, Metric = DistanceMetric.L2, M = 12, EfConstruction = 100, Quantization = quantization });
        foreach (int row in rows)
            index.Upsert(data.Ids[row], data.Row(row), [data.FirstRow + row]);
        Snapshot.Save(index, path);
    }
}
