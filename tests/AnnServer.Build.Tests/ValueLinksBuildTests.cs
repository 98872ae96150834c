using AnnServer.Core.Snapshots;
using AnnServer.Datasets.Tests;

namespace AnnServer.Build.Tests;

/// <summary>ann-build --value-links: a snapshot built offline carries a keyword field's links and the setting.</summary>
public sealed class ValueLinksBuildTests : IDisposable
{
    private readonly ToolHarness _tool = new();

    public void Dispose() => _tool.Dispose();

    private static ToolResult Build(string input, string output, params string[] more) =>
        ToolHarness.Run(["build", "--input", input, "--metric", "l2", "--m", "8", "--ef-construction", "40", "--threads", "2", "--output", output,
            "--vector-column", "embedding", "--id-column", "item_id", .. more]);

    [Fact]
    public void ASnapshotBuiltWithValueLinksCarriesTheLinkedField()
    {
        string output = _tool.File("items.snap");

        var build = Build(DuckDbFixtures.PathOf("payload-kinds.parquet"), output, "--payload-column", "category", "--value-links", "category");
        var info = ToolHarness.Run("info", output);

        Assert.Equal("", build.Error);
        Assert.Equal("category", build.Field("value links"));
        Assert.Equal("version 5", info.Field("format"));
        Assert.Equal("category", info.Field("value links"));
        using var index = Snapshot.Load(output).Index;
        Assert.Equal(["category"], index.LinkedFields);
        Assert.True(index.LinkedPointCount("category") > 0);
    }

    [Fact]
    public void AFieldThatIsNotAKeywordOrIsAbsentIsRefusedBeforeTheBuild()
    {
        string output = _tool.File("items.snap");

        var absent = Build(DuckDbFixtures.PathOf("payload-kinds.parquet"), output, "--payload-column", "category", "--value-links", "colour");
        var list = Build(DuckDbFixtures.PathOf("payload-kinds.parquet"), output, "--payload-column", "tags", "--value-links", "tags");

        Assert.NotEqual(0, absent.ExitCode);
        Assert.Contains("--value-links colour: no point has a payload field 'colour'", absent.Error);
        Assert.NotEqual(0, list.ExitCode);
        Assert.Contains("field 'tags' holds keyword list values; only a keyword field can be linked", list.Error);
        Assert.False(File.Exists(output));
    }
}
