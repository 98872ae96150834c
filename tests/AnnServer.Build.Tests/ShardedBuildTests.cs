using AnnServer.Core;
using AnnServer.Core.Sharding;
using AnnServer.Core.Snapshots;
using AnnServer.Datasets;

namespace AnnServer.Build.Tests;

/// <summary><c>ann-build build --shards S</c>: one snapshot per shard, by the cluster's hash rule, all or nothing.</summary>
public sealed class ShardedBuildTests : IDisposable
{
    private readonly ToolHarness _tool = new();

    public void Dispose() => _tool.Dispose();

    private static ToolResult Build(string input, string output, int shards, params string[] more) =>
        ToolHarness.Run(["build", "--input", input, "--metric", "l2", "--m", "8", "--ef-construction", "60", "--threads", "2",
            "--output", output, "--shards", shards.ToString(System.Globalization.CultureInfo.InvariantCulture), .. more]);

    private string[] ShardFiles(string output, int shards) =>
        Enumerable.Range(0, shards).Select(s => ShardFileNames.For(output, s, shards)).ToArray();

    [Fact]
    public void ShardFilesAreNamedWithTheShardAndTheCountBeforeTheExtension()
    {
        Assert.Equal("out.shard-0-of-4.snap", ShardFileNames.For("out.snap", 0, 4));
        Assert.Equal(Path.Combine("a", "b.v2.shard-11-of-12.snap"), ShardFileNames.For(Path.Combine("a", "b.v2.snap"), 11, 12));
        Assert.Equal("index.shard-0-of-1", ShardFileNames.For("index", 0, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => ShardFileNames.For("out.snap", 4, 4));
    }

    [Theory]
    [InlineData("out.snap", "out.shard-2-of-4.snap", true, 2, 4)]
    [InlineData("a/b.v2.snap", "b.v2.shard-11-of-12.snap", true, 11, 12)]
    [InlineData("index", "index.shard-0-of-1", true, 0, 1)]
    [InlineData("out.snap", "out.shard-4-of-4.snap", false, 0, 0)]
    [InlineData("out.snap", "out.shard-1-of-0.snap", false, 0, 0)]
    [InlineData("out.snap", "out.shard-1-of-4.snapx", false, 0, 0)]
    [InlineData("out.snap", "other.shard-1-of-4.snap", false, 0, 0)]
    [InlineData("out.snap", "out.shard-x-of-4.snap", false, 0, 0)]
    [InlineData("out.snap", "out.shard-1234567890-of-4.snap", false, 0, 0)]
    public void AShardFileNameIsReadBackAsItWasWritten(string output, string fileName, bool isShardFile, int shard, int shards)
    {
        Assert.Equal(isShardFile, ShardFileNames.TryParse(output, fileName, out int readShard, out int readShards));
        if (!isShardFile) return;
        Assert.Equal((shard, shards), (readShard, readShards));
        Assert.Equal(fileName, Path.GetFileName(ShardFileNames.For(output, shard, shards)));
    }

    [Fact]
    public void EveryPointLandsInTheSnapshotOfItsHashWithItsVectorAndLabels()
    {
        const int count = 1200, dimension = 8, shards = 3;
        var vectors = ToolHarness.Vectors(count, dimension, seed: 3);
        string input = _tool.Fvecs("base.fvecs", vectors);
        // Strided ids, as callers' ids often are: the hash must still spread them.
        long[] ids = Enumerable.Range(0, count).Select(i => 5_000_000_000L + 64L * i).ToArray();
        string idsFile = _tool.File("ids.npy");
        Npy.WriteInt64(idsFile, ids);
        string labelsFile = _tool.File("labels.txt");
        LabelsFile.Write(labelsFile, Enumerable.Range(0, count).Select(i => new[] { i % 7 }).ToArray());
        string output = _tool.File("out.snap");

        var build = Build(input, output, shards, "--ids", idsFile, "--labels", labelsFile);

        Assert.Equal(0, build.ExitCode);
        Assert.Equal("", build.Error);
        Assert.Equal(["base.fvecs", "ids.npy", "labels.txt", .. ShardFiles(output, shards).Select(f => Path.GetFileName(f)!).Order(StringComparer.Ordinal)], _tool.Files());
        var indexes = ShardFiles(output, shards).Select(f => Snapshot.Load(f).Index).ToArray();
        try
        {
            var stored = new float[dimension];
            for (int i = 0; i < count; i++)
            {
                int expected = ShardHash.ShardOf(ids[i], shards);
                for (int shard = 0; shard < shards; shard++)
                    Assert.Equal(shard == expected, indexes[shard].Contains(ids[i]));
                Assert.True(indexes[expected].TryGet(ids[i], stored, out int[] labels));
                Assert.Equal(vectors.Row(i).ToArray(), stored);
                Assert.Equal([i % 7], labels);
            }
            // The union is the input: nothing else is in any shard, and no shard is badly starved.
            Assert.Equal(count, indexes.Sum(x => x.Count));
            Assert.All(indexes, x => Assert.InRange(x.Count, count / shards / 2, count / shards * 2));
            for (int shard = 0; shard < shards; shard++)
                Assert.StartsWith($"{ShardFileNames.For(output, shard, shards)}  {indexes[shard].Count:N0} points", build.Field($"shard {shard}"));
        }
        finally
        {
            foreach (var index in indexes) index.Dispose();
        }
    }

    [Fact]
    public void EachShardSearchesLikeItsExactSearchAndTheMergedShardsLikeTheWhole()
    {
        const int count = 3000, dimension = 12, shards = 4, k = 10;
        var vectors = ToolHarness.Vectors(count, dimension, seed: 11);
        string input = _tool.Fvecs("base.fvecs", vectors);
        string output = _tool.File("out.snap");

        Assert.Equal(0, Build(input, output, shards).ExitCode);

        var indexes = ShardFiles(output, shards).Select(f => Snapshot.Load(f).Index).ToArray();
        using var whole = new HnswIndex(new HnswOptions { Dimension = dimension, Metric = DistanceMetric.L2 });
        whole.UpsertMany(vectors.Data, Enumerable.Range(0, count).Select(i => (long)i).ToArray());
        try
        {
            var queries = ToolHarness.Vectors(100, dimension, seed: 12);
            var perShardFound = new int[shards];
            var perShardExpected = new int[shards];
            int mergedFound = 0;
            for (int q = 0; q < queries.Count; q++)
            {
                var query = queries.Row(q);
                var merged = new List<SearchHit>();
                for (int shard = 0; shard < shards; shard++)
                {
                    var hits = indexes[shard].Search(query, k, 64);
                    var exact = indexes[shard].ExactSearch(query, k).Select(h => h.Id).ToHashSet();
                    perShardFound[shard] += hits.Count(h => exact.Contains(h.Id));
                    perShardExpected[shard] += exact.Count;
                    merged.AddRange(hits);
                }
                // What a router does: the global top k of the per-shard top k, by distance then id.
                var top = merged.OrderBy(h => h.Distance).ThenBy(h => h.Id).Take(k).Select(h => h.Id);
                var truth = whole.ExactSearch(query, k).Select(h => h.Id).ToHashSet();
                mergedFound += top.Count(truth.Contains);
            }
            for (int shard = 0; shard < shards; shard++)
                Assert.InRange((double)perShardFound[shard] / perShardExpected[shard], 0.9, 1.0);
            Assert.InRange(mergedFound / (double)(k * queries.Count), 0.9, 1.0);
        }
        finally
        {
            foreach (var index in indexes) index.Dispose();
        }
    }

    [Fact]
    public void AShardNoPointHashesToStillGetsAnEmptySnapshot()
    {
        string input = _tool.Fvecs("base.fvecs", ToolHarness.Vectors(3, 4));
        string output = _tool.File("out.snap");

        var build = Build(input, output, 8);

        Assert.Equal(0, build.ExitCode);
        int empty = Enumerable.Range(0, 8).Count(s => !Enumerable.Range(0, 3).Any(id => ShardHash.ShardOf(id, 8) == s));
        Assert.True(empty >= 5);
        Assert.Equal(empty, build.Out.Split('\n').Count(l => l.Contains("no point hashes to this shard", StringComparison.Ordinal)));
        int total = 0;
        foreach (string file in ShardFiles(output, 8))
        {
            using var index = Snapshot.Load(file).Index;
            total += index.Count;
        }
        Assert.Equal(3, total);
    }

    [Fact]
    public void CancelledPartWayLeavesNoShardFile()
    {
        string input = _tool.Fvecs("base.fvecs", ToolHarness.Vectors(600, 8));
        string output = _tool.File("out.snap");
        using var cancellation = new CancellationTokenSource();
        // Cancel once two of the three shards are saved (their temporary files exist): the third never starts.
        var console = new CancellingWriter("save shard 1 of 3 done", cancellation);
        var error = new StringWriter();

        int code = Program.Run(["build", "--input", input, "--metric", "l2", "--m", "8", "--ef-construction", "40", "--output", output, "--shards", "3"],
            console, error, interactive: false, cancellation.Token);

        Assert.Equal(ExitCodes.Cancelled, code);
        Assert.Equal("ann-build: error: cancelled; no output was written", error.ToString().Trim());
        Assert.Equal(["base.fvecs"], _tool.Files());
    }

    [Fact]
    public void ShardCountOutOfRangeIsAUsageError()
    {
        string input = _tool.Fvecs("base.fvecs", ToolHarness.Vectors(20, 4));
        var result = Build(input, _tool.File("out.snap"), -1);
        Assert.Equal(ExitCodes.Usage, result.ExitCode);
        Assert.Equal("ann-build: error: --shards must be between 1 and 1024 (or 0 for one unsharded snapshot), got -1 (see ann-build --help)", Assert.Single(result.ErrorLines));
        Assert.Equal(["base.fvecs"], _tool.Files());
    }

    [Fact]
    public void AShardFileNameThatIsAFolderFailsBeforeAnyWork()
    {
        string input = _tool.Fvecs("base.fvecs", ToolHarness.Vectors(20, 4));
        string output = _tool.File("out.snap");
        Directory.CreateDirectory(ShardFileNames.For(output, 1, 2));

        var result = Build(input, output, 2);

        Assert.Equal(ExitCodes.Usage, result.ExitCode);
        Assert.Contains("out.shard-1-of-2.snap is a folder", Assert.Single(result.ErrorLines));
        Assert.Equal(["base.fvecs"], _tool.Files());
        Assert.Empty(result.Out);
    }

    /// <summary>Console output that cancels the run when a given text is written.</summary>
    private sealed class CancellingWriter(string trigger, CancellationTokenSource cancellation) : StringWriter
    {
        public override void WriteLine(string? value)
        {
            base.WriteLine(value);
            if (value?.Contains(trigger, StringComparison.Ordinal) == true) cancellation.Cancel();
        }
    }
}
