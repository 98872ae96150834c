using AnnServer.Cluster.State;
using AnnServer.Core;
using AnnServer.Core.Payloads;
using Microsoft.Extensions.Logging.Abstractions;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace AnnServer.Cluster.Tests;

/// <summary>One stand-alone nats-server with JetStream for a test class (the state logic needs no NATS cluster).</summary>
public sealed class StateTestNats : IAsyncLifetime
{
    private readonly TempFolder _folder = new("annserver-state-nats-");
    private ChildProcess? _server;

    public string Url { get; private set; } = "";

    public async Task InitializeAsync()
    {
        int port = FreePorts.Take(1)[0];
        Url = $"nats://127.0.0.1:{port}";
        string binary = File.Exists("/usr/sbin/nats-server") ? "/usr/sbin/nats-server" : "nats-server";
        _server = ChildProcess.Start("nats-state", binary, ["-js", "-a", "127.0.0.1", "-p", port.ToString(), "-sd", _folder.Path]);
        await using var probe = new NatsConnection(new NatsOpts { Url = Url, RetryOnInitialConnect = true });
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await new NatsJSContext(probe).GetAccountInfoAsync(timeout.Token);
    }

    public async Task DisposeAsync()
    {
        if (_server is not null) await _server.KillAsync();
        _server?.Dispose();
        _folder.Dispose();
    }
}

/// <summary>The cluster state in its JetStream key-value buckets: compare-and-set changes of a spec, and the watcher's
/// view of specs, nodes, replica states and liveness. Each test uses its own collection and node names.</summary>
public sealed class StateStoreTests(StateTestNats nats) : IClassFixture<StateTestNats>, IAsyncLifetime
{
    private static readonly TimeSpan Ttl = TimeSpan.FromSeconds(2);
    private NatsConnection _connection = null!;
    private ClusterStateStore _store = null!;

    public async Task InitializeAsync()
    {
        _connection = new NatsConnection(new NatsOpts { Url = nats.Url });
        _store = await ClusterStateStore.OpenAsync(new NatsJSContext(_connection), replicas: 1, Ttl, CancellationToken.None);
    }

    public async Task DisposeAsync() => await _connection.DisposeAsync();

    private static ClusterCollectionSpec Spec(string name, params string[][] shardNodes) =>
        new(name, 4, DistanceMetric.L2, 16, 200, VectorQuantization.None, shardNodes.Length, shardNodes[0].Length, 1,
            shardNodes.Select(nodes => (IReadOnlyList<string>)nodes).ToList(), 1);

    [Fact]
    public async Task ASpecCanBeCreatedOnlyOnce()
    {
        Assert.True(await _store.TryCreateSpecAsync(Spec("once", ["a"]), CancellationToken.None));
        Assert.False(await _store.TryCreateSpecAsync(Spec("once", ["b"]), CancellationToken.None));

        VersionedSpec? stored = await _store.GetSpecAsync("once", CancellationToken.None);
        Assert.Equal(["a"], stored!.Spec.ShardReplicaNodeIds[0]);
    }

    [Fact]
    public async Task ConcurrentChangesOfOneSpecAreAllKept()
    {
        await _store.TryCreateSpecAsync(Spec("cas", ["a"]), CancellationToken.None);

        // Eight admins add a replica each at the same moment: every compare-and-set that loses re-reads and re-applies.
        await Task.WhenAll(Enumerable.Range(0, 8).Select(i => Task.Run(() => _store.UpdateSpecAsync("cas",
            spec => spec with { ShardReplicaNodeIds = [[.. spec.ShardReplicaNodeIds[0], $"n{i}"]] }, CancellationToken.None))));

        VersionedSpec? stored = await _store.GetSpecAsync("cas", CancellationToken.None);
        Assert.Equal(["a", "n0", "n1", "n2", "n3", "n4", "n5", "n6", "n7"], stored!.Spec.ShardReplicaNodeIds[0].Order());
    }

    [Fact]
    public async Task UpdatingAMissingSpecReturnsNull()
    {
        Assert.Null(await _store.UpdateSpecAsync("missing", spec => spec, CancellationToken.None));
    }

    [Fact]
    public async Task TheWatcherSeesWhatWasThereAndEveryChangeAfter()
    {
        await _store.TryCreateSpecAsync(Spec("before", ["w", "b"]), CancellationToken.None);
        long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        await _store.PutNodeAsync(new NodeEntry("w", "http://127.0.0.1:1", "all", now - 10, now), CancellationToken.None);

        await using var watcher = new ClusterWatcher(_store, Ttl, NullLogger.Instance);
        watcher.Start();
        await watcher.Synced.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.NotNull(watcher.Current.Spec("before"));
        Assert.True(watcher.Current.IsLive("w"));

        await _store.TryCreateSpecAsync(Spec("after", ["w"]), CancellationToken.None);
        await _store.PutReplicaAsync(new ReplicaKey("after", 0, "w"), new ReplicaEntry(ReplicaStates.Serving, 7, now), CancellationToken.None);
        Assert.True(await watcher.WaitForAsync(v => v.Spec("after") is { } after && v.ServingReplicas(after, 0).Count == 1, Timeout()));
        Assert.Equal(7UL, watcher.Current.ReplicaState("after", 0, "w")!.AppliedSequence);

        await _store.DeleteSpecAsync("before", [], CancellationToken.None);
        Assert.True(await watcher.WaitForAsync(v => v.Spec("before") is null, Timeout()));
        Assert.Equal(["after"], watcher.Current.AssignedTo("w").Select(a => a.Spec.Name));
    }

    [Fact]
    public async Task ADeleteOfASpecThatChangedSinceItWasReadDeletesNothing()
    {
        await _store.TryCreateSpecAsync(Spec("moving", ["a"]), CancellationToken.None);
        VersionedSpec seen = (await _store.GetSpecAsync("moving", CancellationToken.None))!;
        await _store.UpdateSpecAsync("moving", spec => spec with { ShardReplicaNodeIds = [["a", "b"]] }, CancellationToken.None);

        Assert.False(await _store.TryDeleteSpecAsync(seen, CancellationToken.None));
        Assert.Equal(["a", "b"], (await _store.GetSpecAsync("moving", CancellationToken.None))!.Spec.ShardReplicaNodeIds[0]);

        ClusterCollectionSpec? deleted = await _store.DeleteSpecAsync("moving", [], CancellationToken.None);
        Assert.Equal(["a", "b"], deleted!.ShardReplicaNodeIds[0]);
        Assert.Null(await _store.GetSpecAsync("moving", CancellationToken.None));
        Assert.Null(await _store.DeleteSpecAsync("moving", [], CancellationToken.None));
    }

    [Fact]
    public async Task EveryEntryWrittenBeforeTheWatcherStartedIsInTheViewWhenItIsSynced()
    {
        long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        string[] names = ["synced-a", "synced-b", "synced-c"];
        foreach (string name in names)
            await _store.TryCreateSpecAsync(Spec(name, ["s"]), CancellationToken.None);
        await _store.PutReplicaAsync(new ReplicaKey("synced-c", 0, "s"), new ReplicaEntry(ReplicaStates.Serving, 1, now), CancellationToken.None);

        // A watcher that lets Synced complete before its view holds the replay fails here in a few rounds of 400 (9 runs
        // of 10 did before the fix): the window is short, so it takes many watchers to hit it.
        var missing = new List<string>();
        for (int round = 0; round < 400; round++)
        {
            // Re-put the node every round: its entry expires after the TTL.
            now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            await _store.PutNodeAsync(new NodeEntry("s", "http://127.0.0.1:1", "all", now - 10, now), CancellationToken.None);

            await using var watcher = new ClusterWatcher(_store, Ttl, NullLogger.Instance);
            watcher.Start();
            await watcher.Synced.WaitAsync(TimeSpan.FromSeconds(10));
            ClusterView view = watcher.Current;
            missing.AddRange(names.Where(name => view.Spec(name) is null).Select(name => $"round {round}: spec {name}"));
            if (!view.Replicas.ContainsKey(new ReplicaKey("synced-c", 0, "s"))) missing.Add($"round {round}: replica synced-c/0/s");
            if (!view.Nodes.ContainsKey("s")) missing.Add($"round {round}: node s");
        }
        Assert.Empty(missing);
    }

    [Fact]
    public async Task AReplayWhoseEntriesExpireBeforeTheyAreDeliveredStillCompletes()
    {
        long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        await _store.PutNodeAsync(new NodeEntry("expiring", "http://127.0.0.1:1", "all", now, now), CancellationToken.None);

        // Every node entry goes (as when they all expire) after the watcher read where its replay ends, and before the
        // watch starts: the entry at that end never arrives, and nothing else is written.
        var js = new NatsJSContext(_connection);
        await using var watcher = new ClusterWatcher(_store, Ttl, NullLogger.Instance)
        {
            AfterReadingTheEnd = async bucket =>
            {
                if (bucket == ClusterKeys.NodesBucket)
                    await js.PurgeStreamAsync("KV_" + ClusterKeys.NodesBucket, new StreamPurgeRequest());
            },
        };
        watcher.Start();
        await watcher.Synced.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.False(watcher.Current.Nodes.ContainsKey("expiring"));
    }

    [Fact]
    public async Task ANodeWhoseHeartbeatIsOlderThanTheTtlIsDead()
    {
        await using var watcher = new ClusterWatcher(_store, Ttl, NullLogger.Instance);
        watcher.Start();
        await watcher.Synced.WaitAsync(TimeSpan.FromSeconds(10));
        long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        await _store.PutNodeAsync(new NodeEntry("fresh", "http://127.0.0.1:1", "all", now, now), CancellationToken.None);
        await _store.PutNodeAsync(new NodeEntry("stale", "http://127.0.0.1:2", "all", now, now - 3_000), CancellationToken.None);
        await _store.PutNodeAsync(new NodeEntry("router", "http://127.0.0.1:3", "router", now, now), CancellationToken.None);

        Assert.True(await watcher.WaitForAsync(v => v.Nodes.ContainsKey("fresh") && v.Nodes.ContainsKey("stale") && v.Nodes.ContainsKey("router"), Timeout()));
        Assert.True(watcher.Current.IsLive("fresh"));
        Assert.False(watcher.Current.IsLive("stale"));
        Assert.Contains("fresh", watcher.Current.LiveReplicaNodes().Select(n => n.NodeId));
        Assert.DoesNotContain("router", watcher.Current.LiveReplicaNodes().Select(n => n.NodeId));
        Assert.True(await watcher.WaitForAsync(v => !v.IsLive("fresh"), Timeout(5)));
    }

    [Fact]
    public async Task AReplicaStateWrittenBeforeItsNodeRestartedIsNotBelieved()
    {
        await using var watcher = new ClusterWatcher(_store, Ttl, NullLogger.Instance);
        watcher.Start();
        await watcher.Synced.WaitAsync(TimeSpan.FromSeconds(10));
        long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        await _store.TryCreateSpecAsync(Spec("restart", ["r"]), CancellationToken.None);
        await _store.PutReplicaAsync(new ReplicaKey("restart", 0, "r"), new ReplicaEntry(ReplicaStates.Serving, 3, now - 1000), CancellationToken.None);
        await _store.PutNodeAsync(new NodeEntry("r", "http://127.0.0.1:1", "all", now, now), CancellationToken.None);

        Assert.True(await watcher.WaitForAsync(v => v.Nodes.ContainsKey("r") && v.Spec("restart") is not null
                                                      && v.Replicas.ContainsKey(new ReplicaKey("restart", 0, "r")), Timeout()));
        Assert.Empty(watcher.Current.ServingReplicas(watcher.Current.Spec("restart")!, 0));
    }

    [Fact]
    public async Task NodesReservingOneNewPayloadFieldWithTwoKindsAtOnceLeaveItOneKind()
    {
        ClusterCollectionSpec spec = Spec("kinds", ["a"]);
        // Eight nodes (a registry each, nothing cached) write the same new field at the same moment, half as int64, half
        // as keyword: every compare-and-set that loses re-reads, and finds the field taken.
        var registries = Enumerable.Range(0, 8).Select(_ => new PayloadFieldRegistry(() => _store)).ToArray();
        Task[] writes = [.. registries.Select((registry, i) => Task.Run(() => registry.ReserveAsync(spec,
            [new Payload { { "size", i % 2 == 0 ? PayloadValue.Int64(i) : PayloadValue.Keyword("xl") }, { $"own{i}", PayloadValue.Bool(true) } }],
            _ => "payload", CancellationToken.None)))];
        try
        {
            await Task.WhenAll(writes);
        }
        catch (ArgumentException)
        {
            // Looked at per write below.
        }

        (ClusterPayloadFields? stored, _) = await _store.GetPayloadFieldsAsync("kinds", CancellationToken.None);
        PayloadKind won = stored!.Fields["size"];
        for (int i = 0; i < writes.Length; i++)
        {
            bool sameKind = (i % 2 == 0) == (won == PayloadKind.Int64);
            Assert.Equal(sameKind, writes[i].IsCompletedSuccessfully);
            Assert.Equal(sameKind, stored.Fields.ContainsKey($"own{i}"));
            if (!sameKind) Assert.Contains("'size'", writes[i].Exception!.InnerException!.Message);
        }
        // The value as an operator reads it (nats kv get ann-cluster payload-fields.kinds).
        Assert.Contains("\"size\":\"" + (won == PayloadKind.Int64 ? "int64" : "keyword") + "\"",
            System.Text.Encoding.UTF8.GetString(ClusterJson.Serialize(stored)));
    }

    [Fact]
    public void KeysSplitBackIntoTheirParts()
    {
        Assert.Equal("products", ClusterKeys.ParseCollection(ClusterKeys.Collection("products")));
        Assert.Equal(new ReplicaKey("products", 12, "node-1"), ClusterKeys.ParseReplica(ClusterKeys.Replica("products", 12, "node-1")));
        Assert.Null(ClusterKeys.ParseReplica("collections.products"));
        Assert.Null(ClusterKeys.ParseCollection("replicas.products.1.a"));
    }

    private static CancellationToken Timeout(int seconds = 10) => new CancellationTokenSource(TimeSpan.FromSeconds(seconds)).Token;
}
