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
        Assert.All(truth, row => Assert.Equal(FashionMnist.GroundTruthDepth, row.Length));
        for (int q = 0; q < queries.Count; q++)
        {
            // Brute force in float64: every listed neighbour is no farther than the next one, and none is left out.
            var distances = Enumerable.Range(0, baseVectors.Count)
                .Select(r => Recall.ExactDistance.Compute(DistanceMetric.L2, queries.Row(q), baseVectors.Row(r))).ToArray();
            var listed = truth[q].Select(id => distances[id]).ToArray();
            Assert.Equal(listed.Order(), listed);
            Assert.Equal(distances.Order().Take(FashionMnist.GroundTruthDepth), listed);
        }
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
