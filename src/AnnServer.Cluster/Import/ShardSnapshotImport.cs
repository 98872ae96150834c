using System.Diagnostics;
using AnnServer.Cluster.Replication;
using AnnServer.Cluster.State;
using AnnServer.Collections;
using AnnServer.Core;
using AnnServer.Core.Sharding;
using AnnServer.Core.Snapshots;
using Microsoft.Extensions.Logging;

namespace AnnServer.Cluster.Import;

/// <summary>
/// LoadSnapshot in cluster mode: a cluster collection created from the files of <c>ann-build build --shards S</c>
/// (docs/cluster.md, "Loading shard snapshots into a cluster"). In this order, so that no replica can ever start
/// without its shard's points and a failure leaves nothing behind:
/// <list type="number">
/// <item>Every file is checked before anything is written: all S present (<see cref="ShardSnapshotFiles"/>), every
/// checksum, the same dimension, metric, M and quantization, and every point's id in the file's own shard by the
/// cluster's rule (<see cref="ShardHash.ShardOf"/>).</item>
/// <item>The spec is planned (replicas assigned, its creation time fixed) but not written.</item>
/// <item>Each file is uploaded to the object store as its shard's snapshot covering stream sequence 0, under that
/// creation time (<see cref="ShardSnapshotStore.UploadAsync"/>).</item>
/// <item>The streams and the spec are written, the spec marked <see cref="ClusterCollectionSpec.SeededFromSnapshot"/>:
/// replicas start from the uploaded snapshots and follow the (empty) streams after sequence 0.</item>
/// </list>
/// Any failure before the spec is written deletes this import's uploads (heads and objects of its creation time only).
/// The receiving node reads every file twice (checks, upload) and builds one shard's index at a time for the id check.
/// </summary>
public sealed class ShardSnapshotImport(ClusterCoordinator cluster, ShardSnapshotStore snapshots, ImportDirectory? importDirectory, ILogger logger)
{
    public async Task<SnapshotLoadResult> ImportAsync(string name, string path, int replicas, CancellationToken ct)
    {
        long started = Stopwatch.GetTimestamp();
        if (importDirectory is null)
            throw new CollectionPreconditionException(
                "this server has no --import-dir, so it loads no files: start the node that receives LoadSnapshot with --import-dir FOLDER " +
                "holding the ann-build --shards output");
        if (replicas < 0)
            throw new ArgumentException($"replicas must be 0 (the cluster's default) or more, got {replicas}", nameof(replicas));

        ShardSnapshotFiles files = ShardSnapshotFiles.Find(importDirectory, path);
        SnapshotInfo first = await Task.Run(() => Check(files, ct), ct).ConfigureAwait(false);
        long bytes = files.Files.Sum(f => new FileInfo(f.RealPath).Length);

        var options = new HnswOptions
        {
            Dimension = first.Dimension,
            Metric = first.Metric,
            M = first.M,
            EfConstruction = first.EfConstruction,
            Quantization = first.Quantization,
            LinkedFields = first.LinkedFields,
        };
        ClusterCollectionSpec spec = (await cluster.PlanCollectionAsync(name, options, files.Shards, replicas, ct).ConfigureAwait(false))
            with { SeededFromSnapshot = true };
        try
        {
            foreach (ShardSnapshotFile file in files.Files)
            {
                if (!await snapshots.UploadAsync(name, file.Shard, spec.CreatedUnixMs, spec.StreamReplicas, sequence: 0, file.RealPath, ct)
                        .ConfigureAwait(false))
                    throw new CollectionAlreadyExistsException(name, " (another import of that name stored its snapshots meanwhile)");
            }
            spec = await cluster.CreatePlannedCollectionAsync(spec, ct).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            await RemoveUploadsUnlessCreatedAsync(spec, e).ConfigureAwait(false);
            throw;
        }
        TimeSpan duration = Stopwatch.GetElapsedTime(started);
        logger.LogInformation("Cluster collection {Name} imported from {Shards} shard snapshot(s) ({Path}, {Bytes} bytes) in {Seconds:F1} s",
            name, files.Shards, path, bytes, duration.TotalSeconds);
        return new SnapshotLoadResult(ClusterCollectionStatus.Of(cluster.View, spec), bytes, duration);
    }

    /// <summary>The checks of step 1; returns the first file's header, which every other file matches.</summary>
    private static SnapshotInfo Check(ShardSnapshotFiles files, CancellationToken ct)
    {
        SnapshotInfo? first = null;
        string firstName = "";
        foreach (ShardSnapshotFile file in files.Files)
        {
            ct.ThrowIfCancellationRequested();
            SnapshotInfo info;
            try
            {
                info = Snapshot.ReadInfo(file.RealPath);
            }
            catch (SnapshotFormatException e)
            {
                throw new InvalidSnapshotException($"shard file '{file.Name}' is not a readable snapshot: {e.Message}; nothing was imported", e);
            }
            if (!info.AllChecksumsValid)
                throw new InvalidSnapshotException(
                    $"shard file '{file.Name}' is damaged: the checksum of section(s) {string.Join(", ", info.Sections.Where(s => !s.ChecksumValid).Select(s => s.Name))} " +
                    "does not match; nothing was imported");
            if (first is null)
            {
                first = info;
                firstName = file.Name;
            }
            else if (info.Dimension != first.Dimension || info.Metric != first.Metric || info.M != first.M || info.Quantization != first.Quantization)
            {
                throw new InvalidSnapshotException(
                    $"shard file '{file.Name}' has dimension {info.Dimension}, metric {info.Metric}, M {info.M}, quantization {info.Quantization}, " +
                    $"but '{firstName}' has dimension {first.Dimension}, metric {first.Metric}, M {first.M}, quantization {first.Quantization}: " +
                    "the shards of one collection come from one build; nothing was imported");
            }
            CheckShardOfEveryPoint(file, files.Shards, ct);
        }
        return first!;
    }

    private static void CheckShardOfEveryPoint(ShardSnapshotFile file, int shards, CancellationToken ct)
    {
        if (shards == 1) return;
        LoadedSnapshot loaded;
        try
        {
            // An import runs while the cluster serves: one core, as a LoadSnapshot beside searches does.
            loaded = Snapshot.Load(file.RealPath, new SnapshotLoadOptions { SkipChecksums = true, Threads = 1 });
        }
        catch (SnapshotFormatException e)
        {
            throw new InvalidSnapshotException($"shard file '{file.Name}' cannot be loaded: {e.Message}; nothing was imported", e);
        }
        using HnswIndex index = loaded.Index;
        ct.ThrowIfCancellationRequested();
        foreach (long id in index.GetIds())
        {
            int owner = ShardHash.ShardOf(id, shards);
            if (owner != file.Shard)
                throw new InvalidSnapshotException(
                    $"shard file '{file.Name}' holds point id {id}, which belongs to shard {owner} of {shards} by the cluster's rule " +
                    "(xxHash64 of the id mod shards, docs/cluster.md), not to shard " + file.Shard +
                    ": the file was not built by ann-build --shards " + shards + "; nothing was imported");
        }
    }

    /// <summary>After a failure: deletes this import's uploads, unless the spec was written after all (a failure or a
    /// cancellation after that point leaves a collection whose replicas need them).</summary>
    private async Task RemoveUploadsUnlessCreatedAsync(ClusterCollectionSpec spec, Exception failure)
    {
        using var cleanup = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            if (cluster.Store is { } store && await store.GetSpecAsync(spec.Name, cleanup.Token).ConfigureAwait(false) is { } written
                && written.Spec.CreatedUnixMs == spec.CreatedUnixMs)
                return;
            await snapshots.DeleteUploadsAsync(spec.Name, spec.Shards, spec.CreatedUnixMs, cleanup.Token).ConfigureAwait(false);
            logger.LogWarning("Importing cluster collection {Name} failed ({Reason}); its uploaded shard snapshots are deleted", spec.Name, failure.Message);
        }
        catch (Exception e)
        {
            logger.LogError(e, "Importing cluster collection {Name} failed ({Reason}), and deleting its uploaded shard snapshots failed too ({Message}): " +
                "objects named {Name}/SHARD/0-... of {Bucket} may be left; dropping a collection of that name later deletes them",
                spec.Name, failure.Message, e.Message, spec.Name, ShardSnapshotStore.Bucket);
        }
    }
}
