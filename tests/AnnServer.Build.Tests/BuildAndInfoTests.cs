using AnnServer.Core;
using AnnServer.Core.Snapshots;
using AnnServer.Datasets;

namespace AnnServer.Build.Tests;

/// <summary>The tool end to end on small generated files: build, then info and load what it wrote.</summary>
public sealed class BuildAndInfoTests : IDisposable
{
    private readonly ToolHarness _tool = new();

    public void Dispose() => _tool.Dispose();

    private static ToolResult Build(string input, string output, params string[] more) =>
        ToolHarness.Run(["build", "--input", input, "--metric", "l2", "--m", "8", "--ef-construction", "40", "--threads", "2", "--output", output, .. more]);

    [Fact]
    public void InfoReportsTheCountAndDimensionOfWhatWasBuilt()
    {
        string input = _tool.Fvecs("base.fvecs", ToolHarness.Vectors(500, 16));
        string output = _tool.File("index.snap");

        var build = Build(input, output);
        var info = ToolHarness.Run("info", output);

        Assert.Equal(0, build.ExitCode);
        Assert.Equal("", build.Error);
        Assert.Equal("500 (0 invalid rows skipped)", build.Field("points"));
        Assert.Equal(0, info.ExitCode);
        Assert.Equal("500 live, 500 nodes", info.Field("points"));
        Assert.Equal("16", info.Field("dimension"));
        Assert.Equal("l2", info.Field("metric"));
        Assert.Equal("8", info.Field("M"));
        Assert.Equal("all valid", info.Field("checksums"));
        Assert.Equal(["base.fvecs", "index.snap"], _tool.Files());
    }

    [Theory]
    [InlineData("int8", VectorQuantization.Int8)]
    [InlineData("int4", VectorQuantization.Int4)]
    public void QuantizationIsRecordedInTheSnapshot(string name, VectorQuantization quantization)
    {
        string input = _tool.Fvecs("base.fvecs", ToolHarness.Vectors(300, 16));
        string output = _tool.File("index.snap");

        var build = Build(input, output, "--quantization", name);
        var info = ToolHarness.Run("info", output);

        Assert.Equal(0, build.ExitCode);
        Assert.Equal(name, info.Field("quantization"));
        Assert.Equal(quantization, Snapshot.ReadInfo(output).Quantization);
    }

    [Fact]
    public void BuildPrintsProgressAndASummary()
    {
        string input = _tool.Fvecs("base.fvecs", ToolHarness.Vectors(200, 8));
        var build = Build(input, _tool.File("index.snap"));
        Assert.Contains("read     done: 200 rows in", build.Out);
        Assert.Contains("build    done: 200 vectors in", build.Out);
        Assert.Contains("save     done: in", build.Out);
        foreach (string field in new[] { "dimension", "read", "build", "save", "file size", "peak memory" })
            Assert.NotEmpty(build.Field(field));
        Assert.Contains("vectors/s", build.Field("build"));
    }

    [Fact]
    public void AReorderedBuildAnswersAsTheInsertionOrderedOne()
    {
        var vectors = ToolHarness.Vectors(600, 16);
        string input = _tool.Fvecs("base.fvecs", vectors);
        string plain = _tool.File("plain.snap"), reordered = _tool.File("reordered.snap");

        // One thread each, so that both builds make the same graph.
        string[] common = ["build", "--input", input, "--metric", "l2", "--m", "8", "--ef-construction", "40", "--threads", "1"];
        var build = ToolHarness.Run([.. common, "--output", reordered, "--reorder", "rcm"]);
        Assert.Equal(0, ToolHarness.Run([.. common, "--output", plain]).ExitCode);

        Assert.Equal(0, build.ExitCode);
        Assert.Contains("reorder  done: in", build.Out);
        Assert.NotEmpty(build.Field("reorder"));
        Assert.Equal(Snapshot.ReadInfo(plain).FormatVersion, Snapshot.ReadInfo(reordered).FormatVersion);
        using var expected = Snapshot.Load(plain).Index;
        using var actual = Snapshot.Load(reordered).Index;
        for (int q = 0; q < 50; q++)
        {
            var query = vectors.Row(q * 7);
            Assert.Equal(expected.Search(query, 10, 40), actual.Search(query, 10, 40));
        }
    }

    public static TheoryData<string> Formats => ["idx", "npy", "hdf5", "bvecs"];

    [Theory]
    [MemberData(nameof(Formats))]
    public void EveryInputFormatBuilds(string format)
    {
        var bytes = new byte[120 * 12];
        new Random(5).NextBytes(bytes);
        var vectors = new VectorSet(bytes.Select(b => (float)b).ToArray(), 120, 12);
        string input = format switch
        {
            "idx" => _tool.File("train-images-idx3-ubyte.gz"),
            "npy" => _tool.File("base.npy"),
            "hdf5" => _tool.File("base.hdf5"),
            _ => _tool.File("base.bvecs"),
        };
        switch (format)
        {
            case "idx": Idx.WriteUInt8(input, bytes, [120, 3, 4], gzip: true); break;
            case "npy": Npy.WriteFloat32(input, vectors); break;
            case "hdf5": AnnBenchmarksHdf5.Write(input, vectors); break;
            default: Texmex.WriteBvecs(input, bytes, 12); break;
        }
        string output = _tool.File("index.snap");

        Assert.Equal(0, Build(input, output).ExitCode);

        using var loaded = Snapshot.Load(output).Index;
        Assert.Equal(120, loaded.Count);
        Assert.Equal(12, loaded.Dimension);
        var stored = new float[12];
        Assert.True(loaded.TryGet(37, stored, out _));
        Assert.Equal(vectors.Row(37).ToArray(), stored);
    }

    [Fact]
    public void IdsAndLabelsTravelWithTheirVectors()
    {
        var vectors = ToolHarness.Vectors(50, 4);
        string input = _tool.Fvecs("base.fvecs", vectors);
        string ids = _tool.File("ids.npy");
        string labels = _tool.File("labels.txt");
        Npy.WriteInt64(ids, Enumerable.Range(0, 50).Select(i => 1000L + i * 7).ToArray());
        LabelsFile.Write(labels, Enumerable.Range(0, 50).Select(i => i % 5 == 0 ? [] : new[] { i % 3, 10 }).ToArray());
        string output = _tool.File("index.snap");

        Assert.Equal(0, Build(input, output, "--ids", ids, "--labels", labels).ExitCode);

        using var index = Snapshot.Load(output).Index;
        var stored = new float[4];
        Assert.True(index.TryGet(1000 + 7 * 8, stored, out int[] storedLabels));
        Assert.Equal(vectors.Row(8).ToArray(), stored);
        Assert.Equal(new[] { 2, 10 }, storedLabels.Order());
        Assert.True(index.TryGet(1000, stored, out storedLabels));
        Assert.Empty(storedLabels);
        Assert.False(index.Contains(8));
    }

    [Fact]
    public void SkippedRowsAreCountedAndLeftOut()
    {
        var vectors = ToolHarness.Vectors(40, 4);
        vectors.Data[10 * 4] = float.NaN;
        vectors.Data[20 * 4 + 3] = float.PositiveInfinity;
        string input = _tool.File("base.npy");
        Npy.WriteFloat32(input, vectors);
        string output = _tool.File("index.snap");

        var build = Build(input, output, "--skip-invalid");

        Assert.Equal(0, build.ExitCode);
        Assert.Contains("skipped 2 invalid rows (0 of the wrong dimension, 2 with NaN or infinite values); the first is row 10", build.Out);
        Assert.Equal("38 (2 invalid rows skipped)", build.Field("points"));
        using var index = Snapshot.Load(output).Index;
        Assert.False(index.Contains(10));
        Assert.False(index.Contains(20));
        Assert.True(index.Contains(39));
    }

    [Fact]
    public void CosineIndexSearchesLikeTheExactSearch()
    {
        var vectors = ToolHarness.Vectors(300, 8);
        string input = _tool.Fvecs("base.fvecs", vectors);
        string output = _tool.File("index.snap");

        var build = ToolHarness.Run("build", "--input", input, "--metric", "cosine", "--output", output, "--threads", "1");

        Assert.Equal(0, build.ExitCode);
        using var index = Snapshot.Load(output).Index;
        Assert.Equal(DistanceMetric.Cosine, index.Metric);
        var query = vectors.Row(17);
        Assert.Equal(17, index.Search(query, 1, 50)[0].Id);
    }

    [Fact]
    public void InfoFailsWhenASectionIsDamaged()
    {
        string input = _tool.Fvecs("base.fvecs", ToolHarness.Vectors(200, 8));
        string output = _tool.File("index.snap");
        Assert.Equal(0, Build(input, output).ExitCode);
        var vectorsSection = Snapshot.ReadInfo(output).Sections.First(s => s.Length > 0 && s.Name.Contains("vector", StringComparison.OrdinalIgnoreCase));
        using (var file = File.Open(output, FileMode.Open, FileAccess.ReadWrite))
        {
            file.Position = vectorsSection.Offset + vectorsSection.Length / 2;
            int b = file.ReadByte();
            file.Position--;
            file.WriteByte((byte)(b ^ 0xFF));
        }

        var info = ToolHarness.Run("info", output);

        Assert.Equal(ExitCodes.ChecksumMismatch, info.ExitCode);
        var line = Assert.Single(info.ErrorLines);
        Assert.StartsWith("ann-build: error: ", line);
        Assert.Contains(vectorsSection.Name, line);
    }

    [Fact]
    public void InfoOnAFileThatIsNotASnapshot()
    {
        string path = _tool.File("notes.snap");
        File.WriteAllText(path, "this is not a snapshot, only some text of moderate length to get past any size check " + new string('x', 500));
        var info = ToolHarness.Run("info", path);
        Assert.Equal(ExitCodes.Failed, info.ExitCode);
        Assert.StartsWith("ann-build: error: ", Assert.Single(info.ErrorLines));
    }

    [Fact]
    public void Hdf5DistanceThatDiffersFromTheMetricIsPointedOut()
    {
        string input = _tool.File("data.hdf5");
        AnnBenchmarksHdf5.Write(input, ToolHarness.Vectors(30, 4), distance: "angular");
        var build = Build(input, _tool.File("index.snap"));
        Assert.Equal(0, build.ExitCode);
        Assert.Contains($"note: {input} says its distance is 'angular'; building with --metric l2 as asked", build.Out);
    }

    [Fact]
    public void HelpListsTheCommands()
    {
        var help = ToolHarness.Run("--help");
        Assert.Equal(0, help.ExitCode);
        foreach (string command in new[] { "build", "ground-truth", "info", "convert" }) Assert.Contains(command, help.Out);
    }
}
