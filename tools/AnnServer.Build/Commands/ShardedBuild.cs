using System.Diagnostics;
using AnnServer.Build.Progress;
using AnnServer.Core;
using AnnServer.Core.Sharding;
using AnnServer.Core.Snapshots;
using AnnServer.Datasets;

namespace AnnServer.Build.Commands;

/// <summary>
/// <c>ann-build build --shards S</c>: the points split by the cluster's rule (<see cref="ShardHash.ShardOf"/>, on the
/// point's id: the row number unless --ids gives one) and one snapshot built per shard, named by
/// <see cref="ShardFileNames"/>. Shards are built one after another, so the memory peak is the input plus one shard's
/// index. Every shard is saved under a temporary name first and the files are renamed only once all of them are saved:
/// a failure or Ctrl+C leaves no shard file behind, never a set with some shards missing.
/// </summary>
internal static class ShardedBuild
{
    /// <summary>More shards than this is almost surely a typo; a cluster of that many shards is far beyond what one
    /// JetStream deployment serves well (a stream per shard).</summary>
    public const int MaxShards = 1024;

    public static int Run(ToolConsole console, ProgressDisplay display, BuildCommand.Settings settings, HnswOptions options,
        PointSet points, Stopwatch clock, TimeSpan readTime, CancellationToken cancellationToken)
    {
        int shards = settings.Shards;
        var vectors = points.Vectors;
        int dimension = vectors.Dimension;

        // Which shard each point goes to, and how many each gets (so each shard's arrays are allocated once).
        var shardOfPoint = new int[vectors.Count];
        var counts = new int[shards];
        for (int i = 0; i < shardOfPoint.Length; i++)
            counts[shardOfPoint[i] = ShardHash.ShardOf(points.Ids[i], shards)]++;

        var outputs = new List<AtomicOutputFile>(shards);
        var fileSizes = new long[shards];
        TimeSpan buildTime = TimeSpan.Zero, saveTime = TimeSpan.Zero;
        try
        {
            for (int shard = 0; shard < shards; shard++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var (data, ids, labels, payloads) = Gather(points, shardOfPoint, shard, counts[shard], dimension);
                var started = clock.Elapsed;
                using var index = new HnswIndex(options) { SourcePosition = settings.SourcePosition };
                string stage = $"build shard {shard} of {shards}";
                if (ids.Length > 0)
                    display.Run(stage, ids.Length, "vectors", progress =>
                        index.UpsertMany(data, ids, labels, payloads, settings.Threads, new IntProgress(progress), cancellationToken));
                if (ids.Length > 0) BuildCommand.LinkValues(display, index, settings);
                else
                    console.Out.WriteLine($"{stage}: no point hashes to this shard; its snapshot is empty");
                using var reordered = settings.Reorder is { } ordering
                    ? display.Run($"reorder shard {shard} of {shards}", 0, "", _ => index.Reordered(ordering))
                    : null;
                var saved = reordered ?? index;
                var built = clock.Elapsed;
                buildTime += built - started;

                var output = new AtomicOutputFile(ShardFileNames.For(settings.Output, shard, shards));
                outputs.Add(output);
                display.Run($"save shard {shard} of {shards}", 0, "", _ => Snapshot.Save(saved, output.TempPath));
                fileSizes[shard] = new FileInfo(output.TempPath).Length;
                saveTime += clock.Elapsed - built;
            }
            CommitAll(outputs);
        }
        finally
        {
            foreach (var output in outputs) output.Dispose();
        }

        int threadsUsed = settings.Threads == 0 ? Environment.ProcessorCount : settings.Threads;
        var o = console.Out;
        o.WriteLine($"built {shards} shard snapshots (shard of a point = xxHash64(id) mod {shards})");
        for (int shard = 0; shard < shards; shard++)
            o.WriteLine($"  shard {shard,-6} {ShardFileNames.For(settings.Output, shard, shards)}  {HumanFormat.Count(counts[shard])} points  {HumanFormat.Bytes(fileSizes[shard])}");
        o.WriteLine($"  points       {HumanFormat.Count(vectors.Count)} ({HumanFormat.Count(points.Source.SkippedRows.Count)} invalid rows skipped)");
        o.WriteLine($"  balance      smallest shard {HumanFormat.Count(counts.Min())}, largest {HumanFormat.Count(counts.Max())}");
        o.WriteLine($"  dimension    {dimension}");
        o.WriteLine($"  index        {CommonOptions.MetricName(settings.Metric)}, M {settings.M}, efConstruction {settings.EfConstruction}, {threadsUsed} threads");
        BuildCommand.WritePayloadSummary(o, points);
        if (settings.SourcePosition is not null) o.WriteLine($"  source       {settings.SourcePosition}");
        o.WriteLine($"  read         {HumanFormat.Seconds(readTime)} ({HumanFormat.Rate(points.Source.SourceRows / readTime.TotalSeconds)} rows/s)");
        o.WriteLine($"  build        {HumanFormat.Seconds(buildTime)} ({HumanFormat.Rate(vectors.Count / Math.Max(buildTime.TotalSeconds, 1e-9))} vectors/s)");
        o.WriteLine($"  save         {HumanFormat.Seconds(saveTime)}");
        o.WriteLine($"  total        {HumanFormat.Seconds(clock.Elapsed)}");
        o.WriteLine($"  file size    {HumanFormat.Bytes(fileSizes.Sum())} in all");
        o.WriteLine($"  peak memory  {HumanFormat.Bytes(Process.GetCurrentProcess().PeakWorkingSet64)}");
        return ExitCodes.Success;
    }

    /// <summary>The vectors, ids, labels and payloads of one shard's points, in input order.</summary>
    private static (float[] Data, long[] Ids, int[][]? Labels, Core.Payloads.Payload?[]? Payloads) Gather(PointSet points, int[] shardOfPoint,
        int shard, int count, int dimension)
    {
        var data = new float[(long)count * dimension];
        var ids = new long[count];
        var labels = points.Labels is null ? null : new int[count][];
        var payloads = points.Payloads is null ? null : new Core.Payloads.Payload?[count];
        int next = 0;
        for (int i = 0; i < shardOfPoint.Length; i++)
        {
            if (shardOfPoint[i] != shard) continue;
            points.Vectors.Row(i).CopyTo(data.AsSpan(next * dimension, dimension));
            ids[next] = points.Ids[i];
            if (labels is not null) labels[next] = points.Labels![i];
            if (payloads is not null) payloads[next] = points.Payloads![i];
            next++;
        }
        Debug.Assert(next == count);
        return (data, ids, labels, payloads);
    }

    /// <summary>Renames every shard's temporary file to its name. Should a rename fail part way (a full or vanished
    /// folder), the shards already renamed are deleted again: the user gets all shard files or none.</summary>
    private static void CommitAll(List<AtomicOutputFile> outputs)
    {
        int committed = 0;
        try
        {
            for (; committed < outputs.Count; committed++) outputs[committed].Commit();
        }
        catch
        {
            for (int i = 0; i < committed; i++)
            {
                try { File.Delete(outputs[i].FinalPath); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            }
            throw;
        }
    }
}
