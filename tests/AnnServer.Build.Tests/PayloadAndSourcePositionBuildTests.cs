using AnnServer.Core.Payloads;
using AnnServer.Core.Snapshots;
using AnnServer.Datasets;
using AnnServer.Datasets.Tests;

namespace AnnServer.Build.Tests;

/// <summary>ann-build with payload columns (Parquet written by DuckDB, <see cref="DuckDbFixtures"/>), the labels file as a
/// payload field, and the source position.</summary>
public sealed class PayloadAndSourcePositionBuildTests : IDisposable
{
    private const string KafkaOffsets = "items-embeddings:0=1042,1=998";
    private readonly ToolHarness _tool = new();

    public void Dispose() => _tool.Dispose();

    private static ToolResult Build(string input, string output, params string[] more) =>
        ToolHarness.Run(["build", "--input", input, "--metric", "l2", "--m", "8", "--ef-construction", "40", "--threads", "2", "--output", output, .. more]);

    [Fact]
    public void EveryOtherColumnLandsInTheSnapshotAsAPayloadField()
    {
        string output = _tool.File("items.snap");

        var build = Build(DuckDbFixtures.PathOf("payload-kinds.parquet"), output,
            "--vector-column", "embedding", "--id-column", "item_id", "--all-columns-as-payload", "--source-position", KafkaOffsets);

        Assert.Equal("", build.Error);
        Assert.StartsWith("category (keyword, 8 points), tags (keyword list, 8 points), tiny (int64, 10 points)", build.Field("payload"));
        Assert.Equal(KafkaOffsets, build.Field("source"));
        var loaded = Snapshot.Load(output);
        using var index = loaded.Index;
        Assert.Equal(KafkaOffsets, loaded.SourcePosition);
        for (int i = 0; i < 10; i++)
        {
            Assert.True(index.TryGetPayload(i, out var payload));
            Assert.Equal(DuckDbFixtures.ExpectedPayload(i).ToList(), payload.ToList());
        }
    }

    [Fact]
    public void InfoShowsTheSourcePositionAndEachPayloadFieldWithKindAndCount()
    {
        string output = _tool.File("items.snap");
        Assert.Equal(0, Build(DuckDbFixtures.PathOf("payload-kinds.parquet"), output, "--vector-column", "embedding", "--id-column", "item_id",
            "--payload-column", "category", "--payload-column", "sizes:size", "--source-position", KafkaOffsets).ExitCode);

        var info = ToolHarness.Run("info", output);

        Assert.Equal(0, info.ExitCode);
        Assert.Equal("version 4", info.Field("format"));
        Assert.Equal(KafkaOffsets, info.Field("source"));
        Assert.Equal("keyword                 8  3", info.Field("category"));
        Assert.Equal("int64 list              9", info.Field("size"));
        Assert.Contains("SourcePosition", info.Out);
    }

    [Fact]
    public void ASparkFolderKeepsItsPayloadInEveryShard()
    {
        string output = _tool.File("items.snap");

        var build = Build(DuckDbFixtures.PathOf("spark-parts"), output, "--vector-column", "embedding", "--id-column", "item_id",
            "--payload-column", "category", "--shards", "2", "--source-position", KafkaOffsets);

        Assert.Equal("", build.Error);
        int points = 0;
        for (int shard = 0; shard < 2; shard++)
        {
            var loaded = Snapshot.Load(_tool.File($"items.shard-{shard}-of-2.snap"));
            using var index = loaded.Index;
            Assert.Equal(KafkaOffsets, loaded.SourcePosition);
            foreach (long id in index.GetIds())
            {
                Assert.True(index.TryGetPayload(id, out var payload));
                Assert.Equal(new[] { "shoes", "bags", "hats" }[id % 3], payload.Single().Value.AsKeyword());
                points++;
            }
        }
        Assert.Equal(12, points);
    }

    [Fact]
    public void AColumnOfAnotherTypeFailsWithOneLineNamingItAndItsType()
    {
        string output = _tool.File("items.snap");

        var build = Build(DuckDbFixtures.PathOf("payload-unsupported.parquet"), output, "--vector-column", "embedding", "--payload-column", "huge");

        Assert.Equal(ExitCodes.Failed, build.ExitCode);
        Assert.Contains("payload column 'huge' is uint64, which is not read as a payload field", Assert.Single(build.ErrorLines));
        Assert.Empty(_tool.Files());
    }

    [Fact]
    public void ANaNPayloadValueFailsNamingTheRowOrIsSkippedAndCounted()
    {
        string input = DuckDbFixtures.PathOf("bad-rows.parquet");
        string[] columns = ["--vector-column", "embedding", "--id-column", "item_id", "--payload-column", "score"];

        var failed = Build(input, _tool.File("a.snap"), columns);
        var skipped = Build(input, _tool.File("b.snap"), [.. columns, "--skip-invalid"]);

        Assert.Equal(ExitCodes.Failed, failed.ExitCode);
        Assert.Contains("bad-rows.parquet: row group 0, row 2 (row 2 of the input): payload column 'score' is NaN; write null for a missing value; pass --skip-invalid",
            Assert.Single(failed.ErrorLines));
        Assert.Equal(0, skipped.ExitCode);
        Assert.Contains("skipped 2 invalid rows (0 of the wrong dimension, 0 with NaN or infinite values, 0 with a null vector or id, 1 with a duplicate id, "
            + "1 with an invalid payload value); the first is row 2", skipped.Out);
    }

    [Fact]
    public void TheLabelsFileCanBecomeAnInt64ListField()
    {
        string input = _tool.Fvecs("base.fvecs", ToolHarness.Vectors(20, 4));
        string labels = _tool.File("labels.txt");
        LabelsFile.Write(labels, Enumerable.Range(0, 20).Select(i => i % 4 == 0 ? [] : new[] { i % 3, 7 }).ToArray());
        string output = _tool.File("index.snap");

        var build = Build(input, output, "--labels", labels, "--labels-field", "classes");

        Assert.Equal("", build.Error);
        Assert.Equal("classes (int64 list, 15 points)", build.Field("payload"));
        using var index = Snapshot.Load(output).Index;
        Assert.True(index.TryGetPayload(5, out var payload));
        Assert.Equal([new PayloadField("classes", PayloadValue.Int64s(2, 7))], payload.ToList());
        Assert.True(index.TryGetPayload(4, out payload));
        Assert.Empty(payload);                                 // an empty line: the field is absent
        Assert.True(index.TryGet(5, new float[4], out int[] stored));
        Assert.Empty(stored);                                  // instead of labels, not beside them
    }

    [Fact]
    public void ASourcePositionIsKeptForEveryInputFormat()
    {
        string input = _tool.Fvecs("base.fvecs", ToolHarness.Vectors(20, 4));
        string output = _tool.File("index.snap");

        Assert.Equal(0, Build(input, output, "--source-position", "2026-12-06T23:00:00Z").ExitCode);
        Assert.Equal(0, Build(input, _tool.File("plain.snap")).ExitCode);

        Assert.Equal("2026-12-06T23:00:00Z", ToolHarness.Run("info", output).Field("source"));
        var plain = ToolHarness.Run("info", _tool.File("plain.snap"));
        Assert.Equal("none", plain.Field("source"));
        Assert.Equal("version 2", plain.Field("format"));
    }

    [Theory]
    [InlineData("", "--source-position is empty")]
    [InlineData(null, "--source-position is 4097 bytes in UTF-8, more than the limit of 4096")]
    public void ABadSourcePositionIsAUsageError(string? position, string message)
    {
        string input = _tool.Fvecs("base.fvecs", ToolHarness.Vectors(20, 4));

        var build = Build(input, _tool.File("index.snap"), "--source-position", position ?? new string('7', 4097));

        Assert.Equal(ExitCodes.Usage, build.ExitCode);
        Assert.Contains(message, Assert.Single(build.ErrorLines));
        Assert.Equal(["base.fvecs"], _tool.Files());
    }

    [Theory]
    [InlineData(new[] { "--payload-column", "category:", }, "--payload-column: 'category:' names no field after the colon")]
    [InlineData(new[] { "--payload-column", "category:c", "--payload-column", "locale:c" }, "--payload-column: field 'c' is filled by 'category' and 'locale'")]
    [InlineData(new[] { "--labels-field", "classes" }, "--labels-field names the payload field for the --labels file; give --labels too")]
    public void BadPayloadOptionsAreUsageErrors(string[] options, string message)
    {
        var build = Build(DuckDbFixtures.PathOf("payload-kinds.parquet"), _tool.File("index.snap"), ["--vector-column", "embedding", .. options]);

        Assert.Equal(ExitCodes.Usage, build.ExitCode);
        Assert.Contains(message, Assert.Single(build.ErrorLines));
    }

    [Fact]
    public void ALabelsFieldThatAPayloadColumnAlsoFillsIsRefused()
    {
        string labels = _tool.File("labels.txt");
        LabelsFile.Write(labels, Enumerable.Range(0, 10).Select(i => new[] { i }).ToArray());

        var build = Build(DuckDbFixtures.PathOf("payload-kinds.parquet"), _tool.File("index.snap"), "--vector-column", "embedding",
            "--all-columns-as-payload", "--labels", labels, "--labels-field", "tiny");

        Assert.Equal(ExitCodes.Failed, build.ExitCode);
        Assert.Contains("--labels-field 'tiny' is also a payload column of the input; give the labels another field", Assert.Single(build.ErrorLines));
    }
}
