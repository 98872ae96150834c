using AnnServer.Datasets;

namespace AnnServer.Build.Tests;

public sealed class ConvertTests : IDisposable
{
    private readonly ToolHarness _tool = new();

    public void Dispose() => _tool.Dispose();

    [Fact]
    public void IdxGzipBecomesFvecs()
    {
        var pixels = new byte[5 * 28 * 28];
        new Random(3).NextBytes(pixels);
        string input = _tool.File("t10k-images-idx3-ubyte.gz");
        Idx.WriteUInt8(input, pixels, [5, 28, 28], gzip: true);
        string output = _tool.File("images.fvecs");

        var result = ToolHarness.Run("convert", "--input", input, "--output", output);

        Assert.Equal(0, result.ExitCode);
        Assert.Equal("", result.Error);
        Assert.Contains("wrote " + output + ": 5 rows × 784", result.Out);
        Assert.Equal(pixels.Select(p => (float)p).ToArray(), Texmex.ReadFvecs(output).Data);
    }

    [Fact]
    public void NpyBecomesFvecs()
    {
        var vectors = ToolHarness.Vectors(30, 6);
        string input = _tool.File("v.npy");
        Npy.WriteFloat32(input, vectors);
        string output = _tool.File("v.fvecs");

        Assert.Equal(0, ToolHarness.Run("convert", "--input", input, "--output", output).ExitCode);
        Assert.Equal(vectors.Data, Texmex.ReadFvecs(output).Data);
    }

    [Fact]
    public void Hdf5TestSetBecomesQueryFvecsAndNeighborsBecomeIvecs()
    {
        var train = ToolHarness.Vectors(20, 3, seed: 1);
        var test = ToolHarness.Vectors(4, 3, seed: 2);
        int[][] neighbors = [[0, 1], [2, 3], [4, 5], [6, 7]];
        string input = _tool.File("data.hdf5");
        AnnBenchmarksHdf5.Write(input, train, test, neighbors, distance: "euclidean");

        var queries = ToolHarness.Run("convert", "--input", input, "--dataset", "test", "--output", _tool.File("queries.fvecs"));
        var truth = ToolHarness.Run("convert", "--input", input, "--dataset", "neighbors", "--output", _tool.File("gt.ivecs"));
        var baseSet = ToolHarness.Run("convert", "--input", input, "--output", _tool.File("base.fvecs"));

        Assert.Equal((0, 0, 0), (queries.ExitCode, truth.ExitCode, baseSet.ExitCode));
        Assert.Equal(test.Data, Texmex.ReadFvecs(_tool.File("queries.fvecs")).Data);
        Assert.Equal(neighbors, Texmex.ReadIvecs(_tool.File("gt.ivecs")));
        Assert.Equal(train.Data, Texmex.ReadFvecs(_tool.File("base.fvecs")).Data);
    }

    [Fact]
    public void NeighborsMustGoToIvecs()
    {
        string input = _tool.File("data.hdf5");
        AnnBenchmarksHdf5.Write(input, ToolHarness.Vectors(3, 2), neighbors: [[0]]);
        var result = ToolHarness.Run("convert", "--input", input, "--dataset", "neighbors", "--output", _tool.File("gt.fvecs"));
        Assert.Equal(ExitCodes.Usage, result.ExitCode);
        Assert.Contains("must end in .ivecs: dataset 'neighbors' holds integer ids", Assert.Single(result.ErrorLines));
        Assert.Equal(["data.hdf5"], _tool.Files());
    }

    [Fact]
    public void VectorsMustGoToFvecs()
    {
        string input = _tool.File("v.npy");
        Npy.WriteFloat32(input, ToolHarness.Vectors(3, 2));
        var result = ToolHarness.Run("convert", "--input", input, "--output", _tool.File("v.bin"));
        Assert.Equal(ExitCodes.Usage, result.ExitCode);
        Assert.Contains("must end in .fvecs", Assert.Single(result.ErrorLines));
    }

    [Fact]
    public void InvalidRowFailsTheConversionAndLeavesNoFile()
    {
        var vectors = ToolHarness.Vectors(3000, 2);
        vectors.Data[2500 * 2] = float.NaN;
        string input = _tool.File("v.npy");
        Npy.WriteFloat32(input, vectors);

        var result = ToolHarness.Run("convert", "--input", input, "--output", _tool.File("v.fvecs"));

        Assert.Equal(ExitCodes.Failed, result.ExitCode);
        Assert.Contains("row 2500 component 0 is NaN", Assert.Single(result.ErrorLines));
        Assert.Equal(["v.npy"], _tool.Files());
    }

    [Fact]
    public void InvalidRowsAreSkippedAndCountedWhenAsked()
    {
        var vectors = ToolHarness.Vectors(10, 2);
        vectors.Data[3 * 2 + 1] = float.NegativeInfinity;
        string input = _tool.File("v.npy");
        Npy.WriteFloat32(input, vectors);
        string output = _tool.File("v.fvecs");

        var result = ToolHarness.Run("convert", "--input", input, "--output", output, "--skip-invalid");

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("9 rows × 2 (1 invalid rows skipped, the first is row 3)", result.Out);
        Assert.Equal(9, Texmex.ReadFvecs(output).Count);
    }
}
