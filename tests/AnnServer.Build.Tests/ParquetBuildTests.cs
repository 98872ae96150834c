using AnnServer.Datasets;
using AnnServer.Core.Snapshots;
using AnnServer.Datasets.Tests;

namespace AnnServer.Build.Tests;

/// <summary>ann-build on Parquet input as a pipeline leaves it: a folder of Spark part files.</summary>
public sealed class ParquetBuildTests : IDisposable
{
    private readonly ToolHarness _tool = new();

    public void Dispose() => _tool.Dispose();

    private static ToolResult Build(string input, string output, params string[] more) =>
        ToolHarness.Run(["build", "--input", input, "--metric", "l2", "--m", "8", "--ef-construction", "40", "--threads", "2", "--output", output, .. more]);

    /// <summary>Writes a folder of two parts and a _SUCCESS marker; returns the vectors and ids in row order.</summary>
    private (float[][] Vectors, long[] Ids) WriteParts(string folder, ParquetElement element = ParquetElement.Float)
    {
        Directory.CreateDirectory(folder);
        var vectors = ToolHarness.Vectors(300, 8);
        var rows = Enumerable.Range(0, 300).Select(i => vectors.Row(i).ToArray()).ToArray();
        long[] ids = Enumerable.Range(0, 300).Select(i => 5_000_000_000L + 13L * i).ToArray();
        var layout = new ParquetFile(Element: element, RowsPerGroup: 64);
        layout.Write(Path.Combine(folder, "part-00000-a1.snappy.parquet"), rows[..180], ids[..180].Select(i => (long?)i).ToArray());
        layout.Write(Path.Combine(folder, "part-00001-a1.snappy.parquet"), rows[180..], ids[180..].Select(i => (long?)i).ToArray());
        File.WriteAllText(Path.Combine(folder, "_SUCCESS"), "");
        return (rows, ids);
    }

    [Fact]
    public void FolderOfTwoPartsBuildsASnapshotWithTheirIdsAndVectors()
    {
        string folder = _tool.File("items");
        var (rows, ids) = WriteParts(folder);
        string output = _tool.File("index.snap");

        var build = Build(folder, output, "--vector-column", "embedding", "--id-column", "item_id");

        Assert.Equal("", build.Error);
        Assert.Equal(0, build.ExitCode);
        Assert.Contains("(parquet, 300 rows × 8)", build.Out);
        using var index = Snapshot.Load(output).Index;
        Assert.Equal(300, index.Count);
        var stored = new float[8];
        for (int i = 0; i < rows.Length; i++)
        {
            Assert.True(index.TryGet(ids[i], stored, out _));
            Assert.Equal(rows[i], stored);
        }
    }

    [Fact]
    public void WithoutAnIdColumnIdsAreRowNumbersAcrossParts()
    {
        string folder = _tool.File("items");
        var (rows, _) = WriteParts(folder, ParquetElement.Double);
        string output = _tool.File("index.snap");

        Assert.Equal(0, Build(folder, output, "--format", "parquet", "--vector-column", "embedding").ExitCode);

        using var index = Snapshot.Load(output).Index;
        var stored = new float[8];
        Assert.True(index.TryGet(250, stored, out _));
        Assert.Equal(rows[250], stored);
    }

    [Fact]
    public void SkippedRowsAreCountedByKind()
    {
        string input = _tool.File("items.parquet");
        var rows = Enumerable.Range(0, 20).Select(i => (float[]?)ToolHarness.Vectors(20, 4).Row(i).ToArray()).ToArray();
        rows[3] = null;
        new ParquetFile().Write(input, rows, Enumerable.Range(0, 20).Select(i => (long?)(i == 9 ? 2 : i)).ToArray());

        var build = Build(input, _tool.File("index.snap"), "--vector-column", "embedding", "--id-column", "item_id", "--skip-invalid");

        Assert.Equal(0, build.ExitCode);
        Assert.Contains("skipped 2 invalid rows (0 of the wrong dimension, 0 with NaN or infinite values, 1 with a null vector or id, 1 with a duplicate id); the first is row 3", build.Out);
        Assert.Equal("18 (2 invalid rows skipped)", build.Field("points"));
    }

    [Fact]
    public void BadRowFailsWithOneLineNamingThePartRowGroupAndRow()
    {
        string folder = _tool.File("items");
        Directory.CreateDirectory(folder);
        var rows = Enumerable.Range(0, 10).Select(i => (float[]?)new float[] { i, 1 }).ToArray();
        rows[6] = null;
        string part = Path.Combine(folder, "part-00000.parquet");
        new ParquetFile(IdColumn: null, RowsPerGroup: 4).Write(part, rows);

        var build = Build(folder, _tool.File("index.snap"), "--vector-column", "embedding");

        Assert.NotEqual(0, build.ExitCode);
        var line = Assert.Single(build.ErrorLines);
        Assert.Contains($"{part}: row group 1, row 2 (row 6 of the input): the vector ('embedding') is null", line);
        Assert.Contains("--skip-invalid", build.Error);
    }

    [Fact]
    public void VectorColumnIsRequiredForParquet()
    {
        string input = _tool.File("items.parquet");
        new ParquetFile().Write(input, [[1f, 2f]]);
        var build = Build(input, _tool.File("index.snap"));
        Assert.Equal(ExitCodes.Usage, build.ExitCode);
        Assert.Contains($"--vector-column is required with Parquet input: name the column of {input} that holds the vectors "
            + "(its columns are item_id (int64), embedding (list<float>), score (double))", build.Error);
    }

    [Fact]
    public void IdsFileIsRefusedForParquet()
    {
        string input = _tool.File("items.parquet");
        new ParquetFile().Write(input, [[1f, 2f]]);
        IdsFile.Write(_tool.File("ids.txt"), [1]);
        var build = Build(input, _tool.File("index.snap"), "--vector-column", "embedding", "--ids", _tool.File("ids.txt"));
        Assert.Equal(ExitCodes.Usage, build.ExitCode);
        Assert.Contains("--ids is for the other formats; with Parquet input name the id column with --id-column", build.Error);
    }

    [Fact]
    public void ColumnsAreRefusedForOtherFormats()
    {
        string input = _tool.Fvecs("base.fvecs", ToolHarness.Vectors(10, 4));
        var build = Build(input, _tool.File("index.snap"), "--vector-column", "embedding");
        Assert.Equal(ExitCodes.Usage, build.ExitCode);
        Assert.Contains("--vector-column, --id-column, --payload-column and --all-columns-as-payload are for Parquet input", build.Error);
    }
}
