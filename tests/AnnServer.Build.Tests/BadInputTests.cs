using AnnServer.Datasets;

namespace AnnServer.Build.Tests;

/// <summary>Every bad input: a non-zero exit, exactly one line on stderr naming the problem, and no output file.</summary>
public sealed class BadInputTests : IDisposable
{
    private readonly ToolHarness _tool = new();

    public void Dispose() => _tool.Dispose();

    private void AssertFailsCleanly(ToolResult result, int exitCode, string expectedInMessage, params string[] inputFiles)
    {
        Assert.Equal(exitCode, result.ExitCode);
        var line = Assert.Single(result.ErrorLines);
        Assert.StartsWith("ann-build: error: ", line);
        Assert.Contains(expectedInMessage, line);
        Assert.Equal(inputFiles.Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray(), _tool.Files());
    }

    private string Output => _tool.File("out.snap");

    private string GoodInput() => _tool.Fvecs("in.fvecs", ToolHarness.Vectors(20, 4));

    [Fact]
    public void UnknownFormatName()
    {
        string input = GoodInput();
        var result = ToolHarness.Run("build", "--input", input, "--format", "csv", "--metric", "l2", "--output", Output);
        AssertFailsCleanly(result, ExitCodes.Usage, "--format: unknown format 'csv': use one of fvecs, bvecs, idx, npy, hdf5, parquet", input);
    }

    [Fact]
    public void FormatThatCannotBeTold()
    {
        string input = _tool.File("vectors.txt");
        File.WriteAllText(input, "1,2,3\n4,5,6\n");
        var result = ToolHarness.Run("build", "--input", input, "--metric", "l2", "--output", Output);
        AssertFailsCleanly(result, ExitCodes.Failed, "cannot tell the format", input);
    }

    [Fact]
    public void MissingInputFile()
    {
        var result = ToolHarness.Run("build", "--input", _tool.File("absent.fvecs"), "--metric", "l2", "--output", Output);
        AssertFailsCleanly(result, ExitCodes.Failed, "absent.fvecs does not exist");
    }

    [Fact]
    public void EmptyInputFile()
    {
        string input = _tool.File("empty.fvecs");
        File.WriteAllBytes(input, []);
        var result = ToolHarness.Run("build", "--input", input, "--metric", "l2", "--output", Output);
        AssertFailsCleanly(result, ExitCodes.Failed, "empty.fvecs: the file is empty", input);
    }

    [Fact]
    public void NpyWithoutRows()
    {
        string input = _tool.File("none.npy");
        Npy.WriteFloat32(input, new VectorSet([], 0, 4));
        var result = ToolHarness.Run("build", "--input", input, "--metric", "l2", "--output", Output);
        AssertFailsCleanly(result, ExitCodes.Failed, "none.npy: the file holds no vectors", input);
    }

    [Fact]
    public void RowOfTheWrongDimension()
    {
        string input = _tool.File("bad.fvecs");
        using (var writer = new BinaryWriter(File.Create(input)))
            foreach (var row in new[] { new float[] { 1, 2, 3 }, [4, 5, 6], [7, 8], [9, 10, 11] })
            {
                writer.Write(row.Length);
                foreach (float v in row) writer.Write(v);
            }
        var result = ToolHarness.Run("build", "--input", input, "--metric", "l2", "--output", Output);
        AssertFailsCleanly(result, ExitCodes.Failed, "bad.fvecs: row 2 has dimension 2, expected 3 (the dimension of row 0); pass --skip-invalid to skip and count such rows", input);
    }

    [Theory]
    [InlineData(float.NaN, "NaN")]
    [InlineData(float.PositiveInfinity, "+infinity")]
    public void NonFiniteValue(float bad, string described)
    {
        var vectors = ToolHarness.Vectors(10, 4);
        vectors.Data[7 * 4 + 2] = bad;
        string input = _tool.File("v.npy");
        Npy.WriteFloat32(input, vectors);
        var result = ToolHarness.Run("build", "--input", input, "--metric", "l2", "--output", Output);
        AssertFailsCleanly(result, ExitCodes.Failed, $"v.npy: row 7 component 2 is {described}; vectors must be finite", input);
    }

    [Fact]
    public void IdsFileOfTheWrongLength()
    {
        string input = GoodInput();
        string ids = _tool.File("ids.txt");
        IdsFile.Write(ids, [1, 2, 3]);
        var result = ToolHarness.Run("build", "--input", input, "--metric", "l2", "--output", Output, "--ids", ids);
        AssertFailsCleanly(result, ExitCodes.Failed, "ids.txt: has 3 ids but", input, ids);
        Assert.Contains("in.fvecs has 20 rows; there must be one id per row", result.Error);
    }

    [Fact]
    public void IdsMismatchIsFoundBeforeReadingVectorsWhoseCountTheHeaderGives()
    {
        // The IDX payload is cut short: had the vectors been read, the error would be about the truncation.
        string input = _tool.File("images-idx3-ubyte");
        Idx.WriteUInt8(input, new byte[8 * 4], [8, 2, 2], gzip: false);
        using (var stream = File.OpenWrite(input)) stream.SetLength(stream.Length - 3);
        string gzipped = _tool.File("images-idx3-ubyte.gz");
        using (var source = File.OpenRead(input))
        using (var gz = new System.IO.Compression.GZipStream(File.Create(gzipped), System.IO.Compression.CompressionLevel.Fastest))
            source.CopyTo(gz);
        File.Delete(input);
        string ids = _tool.File("ids.txt");
        IdsFile.Write(ids, [1, 2]);

        var result = ToolHarness.Run("build", "--input", gzipped, "--metric", "l2", "--output", Output, "--ids", ids);

        AssertFailsCleanly(result, ExitCodes.Failed, "ids.txt: has 2 ids but", gzipped, ids);
        Assert.Contains("has 8 rows; there must be one id per row", result.Error);
    }

    [Fact]
    public void DuplicateIds()
    {
        string input = GoodInput();
        string ids = _tool.File("ids.txt");
        IdsFile.Write(ids, Enumerable.Range(0, 20).Select(i => (long)(i == 9 ? 3 : i)).ToArray());
        var result = ToolHarness.Run("build", "--input", input, "--metric", "l2", "--output", Output, "--ids", ids);
        AssertFailsCleanly(result, ExitCodes.Failed, "id 3 appears twice, at lines 4 and 10", input, ids);
    }

    [Fact]
    public void LabelsFileWithABadLabel()
    {
        string input = GoodInput();
        string labels = _tool.File("labels.txt");
        File.WriteAllText(labels, "1\n2,x\n");
        var result = ToolHarness.Run("build", "--input", input, "--metric", "l2", "--output", Output, "--labels", labels);
        AssertFailsCleanly(result, ExitCodes.Failed, "labels.txt: line 2: 'x' is not a 32-bit integer label", input, labels);
    }

    [Theory]
    [InlineData("--m", "0", "--m must be between 2 and 128, got 0")]
    [InlineData("--m", "1000", "--m must be between 2 and 128, got 1000")]
    [InlineData("--ef-construction", "0", "--ef-construction must be between 1 and 4096, got 0")]
    [InlineData("--threads", "-1", "--threads must be between 0 (all cores) and 1024, got -1")]
    [InlineData("--metric", "hamming", "--metric: unknown metric 'hamming': use l2, ip or cosine")]
    [InlineData("--m", "many", "Cannot parse argument 'many' for option '--m'")]
    public void BadParameter(string option, string value, string message)
    {
        string input = GoodInput();
        var args = new List<string> { "build", "--input", input, "--metric", "l2", "--output", Output };
        int at = args.IndexOf(option);
        if (at >= 0) args[at + 1] = value;
        else args.AddRange([option, value]);
        AssertFailsCleanly(ToolHarness.Run(args.ToArray()), ExitCodes.Usage, message, input);
    }

    [Fact]
    public void MissingRequiredOption()
    {
        string input = GoodInput();
        AssertFailsCleanly(ToolHarness.Run("build", "--input", input, "--metric", "l2"), ExitCodes.Usage, "Option '--output' is required", input);
    }

    [Fact]
    public void OutputFolderThatDoesNotExist()
    {
        string input = GoodInput();
        var result = ToolHarness.Run("build", "--input", input, "--metric", "l2", "--output", _tool.File("nowhere/out.snap"));
        AssertFailsCleanly(result, ExitCodes.Usage, "does not exist", input);
    }

    [Fact]
    public void OutputThatWouldOverwriteTheInput()
    {
        string input = GoodInput();
        byte[] before = File.ReadAllBytes(input);
        var result = ToolHarness.Run("build", "--input", input, "--metric", "l2", "--output", input);
        AssertFailsCleanly(result, ExitCodes.Usage, "would overwrite the input", input);
        Assert.Equal(before, File.ReadAllBytes(input));
    }

    [Fact]
    public void DimensionBeyondTheIndexLimit()
    {
        string input = _tool.File("wide.npy");
        Npy.WriteFloat32(input, ToolHarness.Vectors(2, 5000));
        var result = ToolHarness.Run("build", "--input", input, "--metric", "l2", "--output", Output);
        AssertFailsCleanly(result, ExitCodes.Failed, "wide.npy: dimension must be between 1 and 4096, got 5000", input);
    }

    [Fact]
    public void FailedBuildLeavesAnOlderOutputUntouched()
    {
        string input = _tool.File("v.npy");
        var vectors = ToolHarness.Vectors(10, 4);
        vectors.Data[5] = float.NaN;
        Npy.WriteFloat32(input, vectors);
        File.WriteAllText(Output, "previous snapshot");

        var result = ToolHarness.Run("build", "--input", input, "--metric", "l2", "--output", Output);

        Assert.Equal(ExitCodes.Failed, result.ExitCode);
        Assert.Equal("previous snapshot", File.ReadAllText(Output));
        Assert.Equal(["out.snap", "v.npy"], _tool.Files());
    }

    [Fact]
    public void DatasetOptionOnAFileThatIsNotHdf5()
    {
        string input = GoodInput();
        var result = ToolHarness.Run("build", "--input", input, "--dataset", "test", "--metric", "l2", "--output", Output);
        AssertFailsCleanly(result, ExitCodes.Failed, "only applies to HDF5 files", input);
    }

    [Fact]
    public void UnknownCommand() =>
        AssertFailsCleanly(ToolHarness.Run("frobnicate"), ExitCodes.Usage, "Unrecognized command or argument 'frobnicate'");

    [Fact]
    public void InfoOnAMissingFile() =>
        AssertFailsCleanly(ToolHarness.Run("info", _tool.File("absent.snap")), ExitCodes.Failed, "absent.snap does not exist");
}
