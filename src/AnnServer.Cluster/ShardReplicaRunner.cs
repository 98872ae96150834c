using System.Diagnostics;
using System.Globalization;
using AnnServer.Cluster.Replication;
using AnnServer.Cluster.State;
using AnnServer.Collections;
using AnnServer.Core;
using AnnServer.Core.Snapshots;
using AnnServer.Storage;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace AnnServer.Cluster;

/// <summary>
/// One shard of a cluster collection held by this node: a local <see cref="Collection"/> (own folder, own FASTER log)
/// fed by the shard's JetStream stream.
/// <para>
/// Start: the local folder's snapshot and log are replayed if they belong to this collection (same
/// <see cref="ClusterCollectionSpec.CreatedUnixMs"/>); otherwise the shard's newest snapshot is downloaded from the
/// object store (<see cref="ShardSnapshotStore"/>), or, when there is none, the replica starts empty. The applied stream
/// sequence then says where to resume: an ordered consumer delivers the stream from the next sequence, and each record
/// is appended to the local log with its sequence and applied, in stream order. The replica is
/// <see cref="ShardReplicaStates.CatchingUp"/> until it has applied the stream's last sequence as of when it started
/// following it, then <see cref="ShardReplicaStates.Serving"/>. Errors (NATS unreachable, stream missing) are logged
/// and retried with a growing pause until the replica is removed; a serving replica keeps serving meanwhile.
/// </para>
/// <para>
/// Gaps: streams are trimmed (<see cref="ShardStreamTrimmer"/>), so the next sequence a replica needs may be gone (its
/// local log lost records, or it resumed from an old copy of its folder). It then never applies past the hole: it stops
/// serving and re-seeds from the shard's snapshot in the object store when that covers the hole, and otherwise logs
/// an error and stays catching-up, trying again with a growing pause (<see cref="StreamGapException"/>).
/// </para>
/// <para>
/// Folder: <c>{data-dir}/.shard-replicas/{collection}/{shard}/</c>, a collection folder like any other (snapshot.snap,
/// log/, stream-sequence) plus <c>cluster-created</c>, the collection's creation time. The dot keeps it out of the
/// server's own collection scan.
/// </para>
/// </summary>
internal sealed partial class ShardReplicaRunner : IAsyncDisposable
{
    public const string ReplicasFolderName = ".shard-replicas";
    private const string CreatedFileName = "cluster-created";

    /// <summary>Records enqueued but not yet applied, at most: bounds the memory a fast stream can fill.</summary>
    private const int MaxInFlight = 4096;

    private static readonly TimeSpan MaxRetryPause = TimeSpan.FromSeconds(5);

    private static readonly TimeSpan StreamInfoTimeout = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How long a replica may enqueue nothing before it asks whether the stream holds more
    /// (<see cref="RestartWhenStalledAsync"/>), and, when it does, reads the missing records from the stream's leader.
    /// It was doubled after each stall (up to 60 s) so that restarts would not starve a consumer's creation during a
    /// meta leader election; the direct reads do not need a consumer (only the stream's leader answers them), so a
    /// longer wait would only leave a stalled replica behind longer, and the interval stays fixed. Not shorter: an idle
    /// stream costs one stream info request per interval and replica, and a consumer being created after a failover
    /// should have its chance before it is cut off.
    /// </summary>
    private static readonly TimeSpan StallCheckInterval = TimeSpan.FromSeconds(5);

    /// <summary>How long a new follow runs at least before the stall watchdog checks, however long ago the replica last
    /// progressed (across follows): a consumer delivers within milliseconds of its creation when it works, and the
    /// follows that missed heartbeats restart last at least 2 s, so the watchdog still sees through them.</summary>
    private static readonly TimeSpan FollowBeforeStallCheck = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How the replica pulls its stream. The ordered consumer is an R1 consumer on one NATS server; when that server
    /// dies while this node is connected to another one, nothing tells the client: no disconnect, and a dead pull sends
    /// nothing, not even its expiry. The client notices only when the pull's idle heartbeats stop: after two heartbeat
    /// intervals (FollowAsync then follows again with a new consumer from the next sequence, and checks every
    /// sequence). The library's default heartbeat is half the 30 s expiry, so that took 30 s, while the
    /// replica went on reporting serving; 1 s makes it 2 s, for one empty message a second per replica while the stream
    /// is idle (the pull itself is renewed every 30 s, as before).
    /// <para>Every field is set: these options replace the library's defaults whole, and without MaxMsgs (or MaxBytes)
    /// ConsumeAsync throws "You must set maxBytes or maxMsgs". The server refuses a heartbeat over half the expiry
    /// ("400 Bad Request - heartbeat value too large"), the client an expiry under 1 s or a heartbeat under 0.5 s. Each
    /// of these throws before the first message: the replica then follows nothing, retrying every 5 s and logging it
    /// once, while it goes on reporting serving.</para>
    /// </summary>
    private static readonly NatsJSConsumeOpts FollowOptions = new()
    {
        MaxMsgs = 1000,
        Expires = TimeSpan.FromSeconds(30),
        IdleHeartbeat = TimeSpan.FromSeconds(1),
    };

    private readonly INatsJSContext _js;
    private readonly ShardStreamReader _reader;
    private readonly ShardSnapshotStore _snapshots;
    private readonly DataDirectory _dataDirectory;
    private readonly DurabilityOptions _durability;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private Task _run = Task.CompletedTask;
    private volatile Collection? _collection;
    private readonly Core.Filtering.IIdSetSource? _idSets;
    private volatile string _state = ShardReplicaStates.CatchingUp;
    // The stall watchdog's reference across follows (a follow restarted every 2 s by missed heartbeats must not reset
    // it): the enqueued sequence it last saw change, and since when (a Stopwatch timestamp) it has not changed or was
    // last checked against the stream. Only the follow's watchdog uses them, one at a time.
    private ulong _watchedSequence;
    private long _watchedSince;
    private int _uploading;

    public ShardReplicaRunner(ClusterCollectionSpec spec, int shard, INatsJSContext js, ShardSnapshotStore snapshots, string replicasRoot,
        DurabilityOptions durability, ILogger logger, Core.Filtering.IIdSetSource? idSets = null)
    {
        _idSets = idSets;
        Spec = spec;
        Shard = shard;
        _js = js;
        _snapshots = snapshots;
        _dataDirectory = new DataDirectory(CollectionRoot(replicasRoot, spec.Name));
        _durability = durability;
        _logger = logger;
        _reader = new ShardStreamReader(js, spec.Name, shard);
        _watchedSince = Stopwatch.GetTimestamp();
        Folder = _dataDirectory.CollectionFolder(shard.ToString(CultureInfo.InvariantCulture));
    }

    /// <summary>The folder holding this collection's shard folders on this node.</summary>
    public static string CollectionRoot(string replicasRoot, string collection) => Path.Combine(replicasRoot, collection);

    public ClusterCollectionSpec Spec { get; }
    public int Shard { get; }
    public string Folder { get; }

    public bool IsServing => _state == ShardReplicaStates.Serving;

    /// <summary>The local collection once loaded (null before).</summary>
    public Collection? Collection => _collection;

    public ShardReplicaStatus Status => _collection is { } collection
        ? new(Spec.Name, Shard, _state, ReplicaStreamPosition.Of(collection).AppliedSequence, ReplicaStreamPosition.Of(collection).DurableSequence)
        : new(Spec.Name, Shard, _state, 0);

    /// <summary>Completes when the replica first serves (for tests and waits; never faults).</summary>
    public Task Serving => _serving.Task;
    private readonly TaskCompletionSource _serving = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Start() => _run = Task.Run(() => RunAsync(_stop.Token));

    /// <summary>A lease on the local collection when the replica is serving; null otherwise.</summary>
    public CollectionLease? TryAcquireServing()
    {
        Collection? collection = _collection;
        return IsServing && collection is not null ? collection.TryAcquire() : null;
    }

    /// <summary>Stops following the stream and closes the local collection (kept on disk for the next start).</summary>
    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        if (_collection is { } collection)
            await collection.CloseAtShutdownAsync().ConfigureAwait(false);
    }

    /// <summary>Stops following the stream and deletes the local data (the assignment was removed).</summary>
    public async Task DropAsync()
    {
        await StopAsync().ConfigureAwait(false);
        if (_collection is { } collection)
            await collection.DropAsync().ConfigureAwait(false);
        else
            _dataDirectory.DeleteCollectionFolder(Folder);
    }

    private async Task StopAsync()
    {
        _state = ShardReplicaStates.CatchingUp;
        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await _run.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task RunAsync(CancellationToken ct)
    {
        TimeSpan pause = TimeSpan.FromMilliseconds(200);
        string? lastError = null;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                _collection ??= await Task.Run(() => OpenAsync(ct), ct).ConfigureAwait(false);
                await FollowAsync(_collection, ct).ConfigureAwait(false);
                pause = TimeSpan.FromMilliseconds(200);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (StreamGapException gap)
            {
                // Not serving: the replica can never catch up by itself, and would otherwise answer from a past state.
                _state = ShardReplicaStates.CatchingUp;
                _logger.LogWarning("Replica of collection {Collection} shard {Shard}: {Message}; re-seeding from the shard's snapshot",
                    Spec.Name, Shard, gap.Message);
                string snapshotState;
                try
                {
                    if (await ReseedAsync(gap, ct).ConfigureAwait(false) is not { } stored)
                    {
                        pause = TimeSpan.FromMilliseconds(200);
                        lastError = null;
                        continue;
                    }
                    // An imported shard's snapshot covers sequence 0: it exists, it is only too old.
                    snapshotState = stored.Sequence is { } sequence ? $"covers only up to sequence {sequence}" : "does not exist";
                }
                catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
                {
                    // An exception out of this catch block would end the replica's loop for good: retry like any error.
                    _logger.LogWarning(e, "Replica of collection {Collection} shard {Shard}: re-seeding failed ({Message})", Spec.Name, Shard, e.Message);
                    snapshotState = $"could not be read ({e.Message})";
                }
                string message = $"{gap.Message}, and the shard's snapshot in {ShardSnapshotStore.Bucket} {snapshotState}" +
                                 ": the replica cannot get those writes and stays catching-up until a snapshot covers them " +
                                 "(another replica's next checkpoint uploads one), or until it is removed";
                if (message != lastError)
                    _logger.LogError("Replica of collection {Collection} shard {Shard}: {Message}", Spec.Name, Shard, message);
                lastError = message;
                await Task.Delay(pause, ct).ConfigureAwait(false);
                pause = TimeSpan.FromMilliseconds(Math.Min(pause.TotalMilliseconds * 2, MaxRetryPause.TotalMilliseconds));
            }
            catch (Exception e)
            {
                // Log a repeating error once, not every few seconds for as long as NATS is away.
                if (e.Message != lastError)
                    _logger.LogWarning(e, "Replica of collection {Collection} shard {Shard}: {Message}; retrying every {Seconds:F1} s at most",
                        Spec.Name, Shard, e.Message, MaxRetryPause.TotalSeconds);
                lastError = e.Message;
                if (_collection is null) _state = ShardReplicaStates.Failed;
                await Task.Delay(pause, ct).ConfigureAwait(false);
                pause = TimeSpan.FromMilliseconds(Math.Min(pause.TotalMilliseconds * 2, MaxRetryPause.TotalMilliseconds));
            }
        }
    }

    // ---- loading -------------------------------------------------------------------------------------------------

    private async Task<Collection> OpenAsync(CancellationToken ct)
    {
        _state = ShardReplicaStates.CatchingUp;
        // Not DataDirectory.Prepare: the other shards' runners of this collection share the folder and may be staging
        // right now; ShardReplicas cleans it once, before the first of them starts.
        Directory.CreateDirectory(_dataDirectory.Root);
        string createdFile = Path.Combine(Folder, CreatedFileName);
        string created = Spec.CreatedUnixMs.ToString(CultureInfo.InvariantCulture);
        if (Directory.Exists(Folder))
        {
            if (File.Exists(createdFile) && File.ReadAllText(createdFile).Trim() == created && File.Exists(DataDirectory.SnapshotPath(Folder)))
            {
                try
                {
                    return Load("its local snapshot and log");
                }
                catch (Exception e) when (e is CollectionLogCorruptException or SnapshotFormatException or InvalidDataException or InvalidOperationException)
                {
                    // A single server must refuse damaged files (they may hold the only copy of acknowledged writes); a
                    // replica's writes were acknowledged by the shard's stream, which with the shard's snapshot holds them
                    // all, so the replica is seeded again like a new one. The files stay for an operator to look at.
                    string aside = _dataDirectory.SetAside(Folder, "damaged");
                    _logger.LogError(
                        "Replica of collection {Collection} shard {Shard}: its local files cannot be loaded: {Message}. They are moved to {Aside} " +
                        "(not deleted, for an operator) and the replica is seeded again from the shard's snapshot and stream, which hold every " +
                        "acknowledged write", Spec.Name, Shard, e.Message, aside);
                }
            }
            else
            {
                _logger.LogWarning("Replica of collection {Collection} shard {Shard}: {Folder} belongs to an earlier collection of that name; deleting it",
                    Spec.Name, Shard, Folder);
                _dataDirectory.DeleteCollectionFolder(Folder);
            }
        }

        string staging = _dataDirectory.NewStagingFolder(Shard.ToString(CultureInfo.InvariantCulture));
        try
        {
            string source = await FirstSnapshotAsync(staging, ct).ConfigureAwait(false);
            File.WriteAllText(Path.Combine(staging, CreatedFileName), created);
            _dataDirectory.Publish(staging, Folder);
            return Load(source);
        }
        catch
        {
            if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
            throw;
        }
    }

    /// <summary>Writes the replica's first snapshot (and its stream sequence) into <paramref name="staging"/>: the
    /// shard's newest one from the object store, or an empty index. Returns where it came from, for the log. A
    /// collection seeded from imported snapshots (<see cref="ClusterCollectionSpec.SeededFromSnapshot"/>) never starts
    /// empty: its stream lacks the imported points, so a failed or missing download is an error, retried by the
    /// replica's loop with a growing pause (<see cref="SeededSnapshotUnavailableException"/>).</summary>
    private async Task<string> FirstSnapshotAsync(string staging, CancellationToken ct)
    {
        try
        {
            if (await DownloadSnapshotAsync(staging, _durability.SnapshotLoading, ct).ConfigureAwait(false) is { } covered)
                return $"the cluster's snapshot up to stream sequence {covered}";
            if (Spec.SeededFromSnapshot)
                throw new SeededSnapshotUnavailableException(Spec.Name, Shard,
                    $"the object store ({ShardSnapshotStore.Bucket}, head in {ShardSnapshotStore.HeadsBucket}) holds no snapshot of it");
        }
        catch (Exception e) when (e is not OperationCanceledException && e is not SeededSnapshotUnavailableException)
        {
            if (Spec.SeededFromSnapshot)
                throw new SeededSnapshotUnavailableException(Spec.Name, Shard, $"its download failed ({e.Message})", e);
            // Starting empty is right when the stream still holds everything; when it was trimmed, the replica finds
            // the gap as it follows the stream and tries the snapshot again (ReseedAsync).
            _logger.LogWarning(e, "Replica of collection {Collection} shard {Shard}: could not download its snapshot ({Message}); starting empty",
                Spec.Name, Shard, e.Message);
        }
        string snapshotPath = DataDirectory.SnapshotPath(staging);
        using var index = new HnswIndex(new HnswOptions
        {
            Dimension = Spec.Dimension,
            Metric = Spec.Metric,
            M = Spec.M,
            EfConstruction = Spec.EfConstruction,
            Quantization = Spec.Quantization,
            LinkedFields = Spec.LinkedFields ?? [],
        });
        Snapshot.Save(index, snapshotPath);
        return "an empty index (no snapshot in the cluster yet)";
    }

    /// <summary>Downloads the shard's snapshot from the object store into <paramref name="staging"/> as the replica's
    /// snapshot (with its stream sequence); returns the sequence it covers, or null (nothing written) when there is
    /// none.</summary>
    private async Task<ulong?> DownloadSnapshotAsync(string staging, SnapshotLoadOptions loading, CancellationToken ct)
    {
        string download = Path.Combine(staging, "download.snap");
        try
        {
            if (await _snapshots.TryDownloadAsync(Spec.Name, Shard, Spec.CreatedUnixMs, Spec.StreamReplicas, download, ct).ConfigureAwait(false)
                is not { } covered)
                return null;
            // The snapshot covers a position of another node's log; here it starts a new, empty log from position 0.
            LoadedSnapshot loaded = Snapshot.Load(download, loading);
            try
            {
                Snapshot.Save(loaded.Index, DataDirectory.SnapshotPath(staging), logPosition: 0);
            }
            finally
            {
                loaded.Index.Dispose();
            }
            StreamSequenceFile.Write(StreamSequenceFile.PathIn(staging), 0, covered);
            return covered;
        }
        finally
        {
            if (File.Exists(download)) File.Delete(download);
        }
    }

    /// <summary>The shard's snapshot in the object store when it did not cover a gap: the stream sequence it covers, or
    /// null when none is stored.</summary>
    private sealed record StoredSnapshot(ulong? Sequence);

    /// <summary>
    /// After a gap: replaces the local data by the shard's snapshot from the object store, as a new replica starts,
    /// when that snapshot covers the gap (it reaches at least the sequence before the stream's first). Returns null
    /// when it did; otherwise the local data is kept and the result says what is stored, for the error.
    /// </summary>
    private async Task<StoredSnapshot?> ReseedAsync(StreamGapException gap, CancellationToken ct)
    {
        // The metadata first: while no snapshot covers the gap, each retry costs one small request, not a download.
        ulong? stored = await _snapshots.StoredSequenceAsync(Spec.Name, Shard, Spec.CreatedUnixMs, Spec.StreamReplicas, ct).ConfigureAwait(false);
        if (stored is not { } announced || announced + 1 < gap.FirstAvailable)
            return new StoredSnapshot(stored);
        string staging = _dataDirectory.NewStagingFolder(Shard.ToString(CultureInfo.InvariantCulture));
        try
        {
            // The node serves its other replicas meanwhile (and this one's searches until the drop below): one core.
            SnapshotLoadOptions loading = _durability.SnapshotLoading.BesideSearches();
            ulong? covered = await DownloadSnapshotAsync(staging, loading, ct).ConfigureAwait(false);
            if (covered is not { } sequence || sequence + 1 < gap.FirstAvailable)
                return new StoredSnapshot(covered);
            File.WriteAllText(Path.Combine(staging, CreatedFileName), Spec.CreatedUnixMs.ToString(CultureInfo.InvariantCulture));
            // The old local data goes before the new is renamed into place: a crash in between leaves no folder, and
            // the next start then seeds the replica from the object store like a new one.
            if (_collection is { } previous)
            {
                _collection = null;
                await previous.DropAsync().ConfigureAwait(false);
            }
            else
                _dataDirectory.DeleteCollectionFolder(Folder);
            _dataDirectory.Publish(staging, Folder);
            _collection = Load($"the cluster's snapshot up to stream sequence {sequence} (re-seeded after the gap)", loading);
            return null;
        }
        finally
        {
            if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
        }
    }

    private Collection Load(string source, SnapshotLoadOptions? loading = null)
    {
        long started = Stopwatch.GetTimestamp();
        LoadedSnapshot loaded = Snapshot.Load(DataDirectory.SnapshotPath(Folder), loading ?? _durability.SnapshotLoading);
        Collection collection;
        try
        {
            collection = Collection.Open(Spec.Name, Folder, _dataDirectory, loaded.Index, loaded.LogPosition, _durability, _logger,
                streamSequences: new ReplicaStreamPosition(UploadSnapshotAsync), idSetSource: _idSets);
        }
        catch
        {
            loaded.Index.Dispose();
            throw;
        }
        _logger.LogInformation("Replica of collection {Collection} shard {Shard} loaded from {Source} in {Ms:F0} ms: {Count} points, stream sequence {Sequence}",
            Spec.Name, Shard, source, Stopwatch.GetElapsedTime(started).TotalMilliseconds, collection.Count, ReplicaStreamPosition.Of(collection).AppliedSequence);
        return collection;
    }

    // ---- following the stream ------------------------------------------------------------------------------------

    private async Task FollowAsync(Collection collection, CancellationToken ct)
    {
        string stream = ShardStreamNames.Stream(Spec.Name, Shard);
        (ulong firstInStream, ulong target) = await StreamSequencesAsync(stream, ct).ConfigureAwait(false);
        ReplicaStreamPosition position = ReplicaStreamPosition.Of(collection);
        ulong from = position.EnqueuedSequence;
        // JetStream starts a consumer at the first message it has when the one asked for was purged: check first (the
        // stream may also be empty after a trim, and then nothing would ever be delivered to notice it by).
        if (firstInStream > from + 1)
            throw new StreamGapException(Spec.Name, Shard, from + 1, firstInStream);
        long started = Stopwatch.GetTimestamp();
        if (from >= target) MarkServing();
        else if (!IsServing)
            _logger.LogInformation("Replica of collection {Collection} shard {Shard}: catching up from stream sequence {From} to {Target}",
                Spec.Name, Shard, from, target);

        INatsJSConsumer consumer = await _js.CreateOrderedConsumerAsync(stream, new NatsJSOrderedConsumerOpts
        {
            DeliverPolicy = ConsumerConfigDeliverPolicy.ByStartSequence,
            OptStartSeq = from + 1,
        }, ct).ConfigureAwait(false);

        // The library's own recovery from missed heartbeats or a lost connection deletes the old consumer before it
        // creates the next, and while the server that held it hangs or the meta leader is being elected, each delete
        // waits out the 5 s request timeout (seen: 5 to 8 s with a NATS server frozen). This replica stops its pull
        // instead and follows again at once with a new consumer; the old one, unused, expires on the server
        // (ordered consumers' inactive threshold).
        using var restart = CancellationTokenSource.CreateLinkedTokenSource(ct);
        NatsJSConsumeOpts options = FollowOptions with
        {
            NotificationHandler = (notification, _) =>
            {
                if (notification is NatsJSTimeoutNotification) CancelQuietly(restart);
                return Task.CompletedTask;
            },
        };
        INatsConnection connection = _js.Connection;
        AsyncEventHandler<NatsEventArgs> onDisconnected = (_, _) =>
        {
            CancelQuietly(restart);
            return default;
        };
        connection.ConnectionDisconnected += onDisconnected;
        using var watching = CancellationTokenSource.CreateLinkedTokenSource(restart.Token);
        Task<ulong?> watchdog = RestartWhenStalledAsync(stream, position, restart, watching.Token);
        ulong? stalledBehind;
        try
        {
            await ApplyAsync(consumer.ConsumeAsync<byte[]>(opts: options, cancellationToken: restart.Token), position, stream, from, target, started, ct)
                .ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (restart.IsCancellationRequested && !ct.IsCancellationRequested)
        {
        }
        finally
        {
            connection.ConnectionDisconnected -= onDisconnected;
            await watching.CancelAsync().ConfigureAwait(false);
            stalledBehind = await watchdog.ConfigureAwait(false);
        }
        if (!restart.IsCancellationRequested || ct.IsCancellationRequested) return;
        // The consumer is stopped (ApplyAsync has returned): from here on only the direct reads enqueue.
        if (stalledBehind is { } last)
            await CatchUpByDirectReadsAsync(position, last, from, target, started, ct).ConfigureAwait(false);
        _logger.LogInformation("Replica of collection {Collection} shard {Shard}: following again from stream sequence {From} with a new " +
            "consumer (missed heartbeats, a lost connection or no progress)", Spec.Name, Shard, position.EnqueuedSequence + 1);
    }

    /// <summary>
    /// Stops the follow (cancels <paramref name="restart"/>) when the replica has enqueued nothing for a whole
    /// <see cref="StallCheckInterval"/> while the stream holds more, as its leader answers; returns the stream's last
    /// sequence then, for <see cref="CatchUpByDirectReadsAsync"/>, or null when the follow ended otherwise. Seen in
    /// runs of NatsHangTests around a frozen NATS server's thaw: consumers that kept their heartbeats and delivered
    /// nothing for 20 to over 90 s, the new ones this watchdog made included (likely placed on a server whose copy of
    /// the stream was not current), so a new consumer alone does not end a stall; and while a server hangs,
    /// nats-server 2.9.10 went on placing new consumers on it. The time without progress counts across follows
    /// (<see cref="_watchedSince"/>), so follows that end by missed heartbeats every few seconds are seen through too.
    /// Costs one stream info request per interval for a replica whose stream is idle; none while records arrive.
    /// </summary>
    private async Task<ulong?> RestartWhenStalledAsync(string stream, ReplicaStreamPosition position, CancellationTokenSource restart,
        CancellationToken ct)
    {
        try
        {
            long followStarted = Stopwatch.GetTimestamp();
            while (true)
            {
                TimeSpan wait = TimeSpan.FromTicks(Math.Max((StallCheckInterval - Stopwatch.GetElapsedTime(_watchedSince)).Ticks,
                    (FollowBeforeStallCheck - Stopwatch.GetElapsedTime(followStarted)).Ticks));
                if (wait > TimeSpan.Zero) await Task.Delay(wait, ct).ConfigureAwait(false);
                ulong now = position.EnqueuedSequence;
                if (now != _watchedSequence)
                {
                    _watchedSequence = now;
                    _watchedSince = Stopwatch.GetTimestamp();
                    continue;
                }
                // Whatever the answer, the next check is an interval away: a new consumer is never cut off at once.
                _watchedSince = Stopwatch.GetTimestamp();
                ulong last;
                try
                {
                    last = (await StreamSequencesAsync(stream, ct).ConfigureAwait(false)).Last;
                }
                catch (Exception e) when (e is NatsException or TimeoutException || (e is OperationCanceledException && !ct.IsCancellationRequested))
                {
                    // NATS is away: the heartbeats and the connection's events deal with that.
                    continue;
                }
                if (last > now && position.EnqueuedSequence == now)
                {
                    _logger.LogWarning("Replica of collection {Collection} shard {Shard}: no stream record for {Seconds:F0} s or more although the stream " +
                        "holds up to sequence {Last} and the replica has {Enqueued}; stopping its consumer to read the rest from the stream's leader",
                        Spec.Name, Shard, StallCheckInterval.TotalSeconds, last, now);
                    CancelQuietly(restart);
                    return last;
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            return null;
        }
    }

    /// <summary>The stream's first and last sequence, as its leader answers (<see cref="StreamLeaderRequest"/>). While a
    /// hung leader is being replaced, giving up after <see cref="StreamInfoTimeout"/> and asking again soon beats
    /// waiting out the client's 5 s request timeout.</summary>
    private Task<(ulong First, ulong Last)> StreamSequencesAsync(string stream, CancellationToken ct) =>
        StreamLeaderRequest.SequencesAsync(_js, stream, StreamInfoTimeout, ct);

    private static void CancelQuietly(CancellationTokenSource source)
    {
        try
        {
            source.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // That follow has ended already.
        }
    }

    /// <summary>Appends and applies the stream's records in order, from sequence <paramref name="from"/> + 1; serving
    /// once <paramref name="target"/> is applied.</summary>
    private async Task ApplyAsync(IAsyncEnumerable<INatsJSMsg<byte[]>> messages, ReplicaStreamPosition position, string stream, ulong from,
        ulong target, long started, CancellationToken ct)
    {
        var inFlight = new Queue<Task>();
        ulong expected = from + 1;
        await foreach (INatsJSMsg<byte[]> message in messages.ConfigureAwait(false))
        {
            ulong sequence = message.Metadata?.Sequence.Stream
                ?? throw new InvalidOperationException($"a message of stream {stream} came without JetStream metadata");
            // Single messages cannot be deleted (DenyDelete), so sequences only skip when the front was purged while
            // this consumer lagged (or was re-created after a disconnect): never apply past a hole.
            if (sequence > expected)
            {
                await DrainAsync(inFlight).ConfigureAwait(false);
                throw new StreamGapException(Spec.Name, Shard, expected, sequence);
            }
            expected = Math.Max(expected, sequence + 1);
            await EnqueueRecordAsync(message.Data, sequence, position, inFlight, ct).ConfigureAwait(false);
            await ServeOnceCaughtUpAsync(sequence, inFlight, from, target, started).ConfigureAwait(false);
        }
    }

    /// <summary>Decodes one stream record and enqueues it (appended to the local log and queued to be applied), keeping
    /// at most <see cref="MaxInFlight"/> records unapplied. Every record goes through here, in stream order, whether a
    /// consumer delivered it or it was read by sequence.</summary>
    private async ValueTask EnqueueRecordAsync(byte[]? body, ulong sequence, ReplicaStreamPosition position, Queue<Task> inFlight, CancellationToken ct)
    {
        if (Decode(body, sequence) is { } record)
        {
            try
            {
                inFlight.Enqueue(await position.EnqueueAsync(record, sequence, ct).ConfigureAwait(false));
            }
            catch (ArgumentException e)
            {
                _logger.LogError("Replica of collection {Collection} shard {Shard}: skipped stream record {Sequence}: {Message}",
                    Spec.Name, Shard, sequence, e.Message);
            }
        }
        while (inFlight.Count > MaxInFlight || (inFlight.TryPeek(out Task? head) && head.IsCompleted))
            await inFlight.Dequeue().ConfigureAwait(false);
    }

    /// <summary>Waits for every enqueued record to be applied.</summary>
    private static async Task DrainAsync(Queue<Task> inFlight)
    {
        while (inFlight.TryDequeue(out Task? pending))
            await pending.ConfigureAwait(false);
    }

    /// <summary>A catching-up replica serves once it has applied <paramref name="target"/>, the stream's last sequence
    /// when it started following from <paramref name="from"/>.</summary>
    private async ValueTask ServeOnceCaughtUpAsync(ulong sequence, Queue<Task> inFlight, ulong from, ulong target, long started)
    {
        if (IsServing || sequence < target) return;
        await DrainAsync(inFlight).ConfigureAwait(false);
        double seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        _logger.LogInformation(
            "Replica of collection {Collection} shard {Shard} caught up: {Records} stream records in {Seconds:F2} s ({Rate:F0} records/s); serving",
            Spec.Name, Shard, sequence - from, seconds, (sequence - from) / Math.Max(seconds, 1e-9));
        MarkServing();
    }

    private LogRecord? Decode(byte[]? body, ulong sequence)
    {
        try
        {
            return LogRecordCodec.Decode(body ?? []);
        }
        catch (LogRecordFormatException e)
        {
            // Only our writer publishes to the subject, after validating; a record that does not decode is a bug or a
            // stranger's message. Applying nothing for it is all a replica can do, and every replica does the same.
            _logger.LogError("Replica of collection {Collection} shard {Shard}: stream record {Sequence} is not a valid log record ({Message}); skipped",
                Spec.Name, Shard, sequence, e.Message);
            return null;
        }
    }

    private void MarkServing()
    {
        _state = ShardReplicaStates.Serving;
        _serving.TrySetResult();
    }

    // ---- snapshot upload -----------------------------------------------------------------------------------------

    /// <summary>After a local checkpoint: offers the snapshot to new replicas (one upload at a time; a checkpoint that
    /// finds one running skips, the next will upload).</summary>
    private async Task UploadSnapshotAsync(SavedSnapshot saved)
    {
        if (saved.StreamSequence == 0 || Interlocked.Exchange(ref _uploading, 1) != 0) return;
        try
        {
            long started = Stopwatch.GetTimestamp();
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
            timeout.CancelAfter(TimeSpan.FromMinutes(30));
            if (await _snapshots.UploadAsync(Spec.Name, Shard, Spec.CreatedUnixMs, Spec.StreamReplicas, saved.StreamSequence, saved.Path, timeout.Token)
                    .ConfigureAwait(false))
                _logger.LogInformation("Replica of collection {Collection} shard {Shard}: uploaded its snapshot up to stream sequence {Sequence} in {Ms:F0} ms",
                    Spec.Name, Shard, saved.StreamSequence, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }
        catch (Exception e)
        {
            _logger.LogWarning(e, "Replica of collection {Collection} shard {Shard}: snapshot upload failed ({Message}); the next checkpoint retries",
                Spec.Name, Shard, e.Message);
        }
        finally
        {
            Volatile.Write(ref _uploading, 0);
        }
    }

    /// <summary>Checkpoints the local collection now (its snapshot is then uploaded).</summary>
    public async Task CheckpointAsync(CancellationToken ct)
    {
        Collection collection = _collection ?? throw new InvalidOperationException($"replica of '{Spec.Name}' shard {Shard} is not loaded yet");
        await collection.CheckpointAsync(ct).ConfigureAwait(false);
        // The checkpoint started the upload before it returned; wait for it to finish.
        while (Volatile.Read(ref _uploading) != 0)
            await Task.Delay(20, ct).ConfigureAwait(false);
    }
}
