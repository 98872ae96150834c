using AnnServer.Core;
using AnnServer.Datasets;
using AnnServer.Harness.Cli;
using AnnServer.Harness.Datasets;
using Xunit;

namespace AnnServer.Harness.Tests;

[Collection("ann-bench commands")]
public sealed class DatasetsCommandTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("ann-bench-datasets-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void IdxImagesBecomeFvecsWithExactGroundTruth()
    {
        string source = Directory.CreateDirectory(Path.Combine(_folder, "idx")).FullName;
        var random = new Random(5);
        var train = new byte[300 * 16];
        var test = new byte[20 * 16];
        random.NextBytes(train);
        random.NextBytes(test);
        Idx.WriteUInt8(Path.Combine(source, FashionMnist.BaseFile), train, [300, 4, 4], gzip: true);
        Idx.WriteUInt8(Path.Combine(source, FashionMnist.QueryFile), test, [20, 4, 4], gzip: true);
        string output = Path.Combine(_folder, "out");

        Assert.Equal(0, AnnBenchCli.Run("datasets", "fashion-mnist", "--out", output, "--source", source));

        var baseVectors = Texmex.ReadFvecs(Path.Combine(output, "base.fvecs"));
        var queries = Texmex.ReadFvecs(Path.Combine(output, "query.fvecs"));
        var truth = Texmex.ReadIvecs(Path.Combine(output, "gt.ivecs"));
        Assert.Equal((300, 16), (baseVectors.Count, baseVectors.Dimension));
        Assert.Equal((20, 16), (queries.Count, queries.Dimension));
        Assert.Equal(train.Select(b => (float)b), baseVectors.Data);
        Assert.Equal(20, truth.Length);
        Assert.All(truth, row => Assert.Equal(ExactGroundTruth.Depth, row.Length));
        for (int q = 0; q < queries.Count; q++)
        {
            // Brute force in float64: every listed neighbour is no farther than the next one, and none is left out.
            var distances = Enumerable.Range(0, baseVectors.Count)
                .Select(r => Recall.ExactDistance.Compute(DistanceMetric.L2, queries.Row(q), baseVectors.Row(r))).ToArray();
            var listed = truth[q].Select(id => distances[id]).ToArray();
            Assert.Equal(listed.Order(), listed);
            Assert.Equal(distances.Order().Take(ExactGroundTruth.Depth), listed);
        }
    }

    [Fact]
    public void ClusteredDatasetFollowsFromItsSeedWithExactGroundTruthPerMetric()
    {
        string first = Path.Combine(_folder, "first"), second = Path.Combine(_folder, "second");
        string[] arguments = ["--points", "400", "--queries", "12", "--dimension", "8", "--clusters", "5", "--seed", "3", "--metric", "l2", "cosine"];

        Assert.Equal(0, AnnBenchCli.Run(["datasets", "clustered", "--out", first, .. arguments]));
        Assert.Equal(0, AnnBenchCli.Run(["datasets", "clustered", "--out", second, .. arguments]));

        foreach (string file in new[] { "base.fvecs", "query.fvecs", "gt-l2.ivecs", "gt-cosine.ivecs" })
            Assert.Equal(File.ReadAllBytes(Path.Combine(first, file)), File.ReadAllBytes(Path.Combine(second, file)));
        var baseVectors = Texmex.ReadFvecs(Path.Combine(first, "base.fvecs"));
        var queries = Texmex.ReadFvecs(Path.Combine(first, "query.fvecs"));
        Assert.Equal((400, 8, 12), (baseVectors.Count, baseVectors.Dimension, queries.Count));
        foreach (var metric in new[] { DistanceMetric.L2, DistanceMetric.Cosine })
        {
            var truth = Texmex.ReadIvecs(Path.Combine(first, ClusteredGaussian.GroundTruthFileName(metric)));
            for (int q = 0; q < queries.Count; q++)
            {
                var distances = Enumerable.Range(0, baseVectors.Count)
                    .Select(r => Recall.ExactDistance.Compute(metric, queries.Row(q), baseVectors.Row(r))).ToArray();
                var listed = truth[q].Select(id => distances[id]).ToArray();
                Assert.Equal(ExactGroundTruth.Depth, listed.Length);
                // float32 kernels against float64: the same neighbours up to rounding at the boundary.
                Assert.Equal(distances.Order().Take(ExactGroundTruth.Depth), listed, new ToleranceComparer(1e-5));
            }
        }
    }

    private sealed class ToleranceComparer(double tolerance) : IEqualityComparer<double>
    {
        public bool Equals(double x, double y) => Math.Abs(x - y) <= tolerance * Math.Max(1, Math.Abs(x));
        public int GetHashCode(double value) => 0;
    }

    [Fact]
    public void MissingSourceFilesFailWithExitCodeOne()
    {
        Assert.Equal(1, AnnBenchCli.Run("datasets", "fashion-mnist", "--out", Path.Combine(_folder, "out"), "--source", Path.Combine(_folder, "none")));
    }

    [Fact]
    public void MissingDebianPackageIsNamedInTheMessage()
    {
        var e = Assert.Throws<FileNotFoundException>(() => FashionMnist.Prepare(Path.Combine(_folder, "none"), _folder));
        Assert.Contains("--source", e.Message);
        Assert.Contains(FashionMnist.BaseFile, e.Message);
    }

    [Fact]
    public void UnknownDatasetIsRefused()
    {
        Assert.NotEqual(0, AnnBenchCli.Run("datasets", "sift-1m", "--out", _folder));
    }
}
