using AnnServer.Datasets;

namespace AnnServer.Build.Tests;

public sealed class GroundTruthTests : IDisposable
{
    private readonly ToolHarness _tool = new();

    public void Dispose() => _tool.Dispose();

    [Fact]
    public void WritesTheExactNearestRowsOfEachQuery()
    {
        var baseVectors = ToolHarness.Vectors(300, 8, seed: 1);
        var queries = ToolHarness.Vectors(12, 8, seed: 2);
        string basePath = _tool.Fvecs("base.fvecs", baseVectors);
        string queriesPath = _tool.Fvecs("queries.fvecs", queries);
        string output = _tool.File("gt.ivecs");

        var result = ToolHarness.Run("ground-truth", "--base", basePath, "--queries", queriesPath, "--k", "10", "--metric", "l2",
            "--output", output, "--threads", "2");

        Assert.Equal(0, result.ExitCode);
        var truth = Texmex.ReadIvecs(output);
        Assert.Equal(12, truth.Length);
        for (int q = 0; q < queries.Count; q++)
            Assert.Equal(BruteForceL2(baseVectors, queries.Row(q).ToArray(), 10), truth[q]);
    }

    [Fact]
    public void Hdf5FileServesAsBaseAndQueries()
    {
        string input = _tool.File("data.hdf5");
        AnnBenchmarksHdf5.Write(input, ToolHarness.Vectors(50, 4, seed: 1), ToolHarness.Vectors(3, 4, seed: 2));
        var result = ToolHarness.Run("ground-truth", "--base", input, "--queries", input, "--k", "5", "--metric", "l2", "--output", _tool.File("gt.ivecs"));
        Assert.Equal(0, result.ExitCode);
        Assert.Equal(3, Texmex.ReadIvecs(_tool.File("gt.ivecs")).Length);
    }

    [Fact]
    public void QueriesOfAnotherDimensionAreRefused()
    {
        string basePath = _tool.Fvecs("base.fvecs", ToolHarness.Vectors(10, 8));
        string queriesPath = _tool.Fvecs("queries.fvecs", ToolHarness.Vectors(2, 7));
        var result = ToolHarness.Run("ground-truth", "--base", basePath, "--queries", queriesPath, "--k", "3", "--metric", "l2", "--output", _tool.File("gt.ivecs"));
        Assert.Equal(ExitCodes.Failed, result.ExitCode);
        Assert.Contains("queries have dimension 7 but the base vectors", Assert.Single(result.ErrorLines));
        Assert.Equal(["base.fvecs", "queries.fvecs"], _tool.Files());
    }

    [Fact]
    public void KLargerThanTheBaseIsRefused()
    {
        string basePath = _tool.Fvecs("base.fvecs", ToolHarness.Vectors(10, 4));
        var result = ToolHarness.Run("ground-truth", "--base", basePath, "--queries", basePath, "--k", "11", "--metric", "l2", "--output", _tool.File("gt.ivecs"));
        Assert.Equal(ExitCodes.Usage, result.ExitCode);
        Assert.Contains("--k 11 is more than the 10 base vectors", Assert.Single(result.ErrorLines));
    }

    private static int[] BruteForceL2(VectorSet vectors, float[] query, int k)
    {
        var distances = new (float Distance, int Row)[vectors.Count];
        for (int r = 0; r < vectors.Count; r++)
        {
            var row = vectors.Row(r);
            float sum = 0;
            for (int i = 0; i < row.Length; i++) sum += (row[i] - query[i]) * (row[i] - query[i]);
            distances[r] = (sum, r);
        }
        return distances.OrderBy(d => d.Distance).ThenBy(d => d.Row).Take(k).Select(d => d.Row).ToArray();
    }
}
