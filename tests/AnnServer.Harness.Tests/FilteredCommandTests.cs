using AnnServer.Datasets;
using AnnServer.Harness.Cli;
using AnnServer.Harness.Datasets;
using AnnServer.Harness.Filtered;
using Xunit;

namespace AnnServer.Harness.Tests;

[Collection("ann-bench commands")]
public sealed class FilteredCommandTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("ann-bench-filtered-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void FilteredRunReportsEveryCaseWithRecallRatioAndPlan()
    {
        string source = WriteTinyFashionMnist(train: 2000, test: 40);
        string json = Path.Combine(_folder, "out.json"), markdown = Path.Combine(_folder, "out.md"), plot = Path.Combine(_folder, "out.png");

        int exit = AnnBenchCli.Run("filtered", "--source", source, "--max-queries", "40", "--m", "8", "--ef-construction", "64",
            "--build-threads", "2", "--ef", "10,80", "--runs", "1", "--warmup", "5", "--json", json, "--markdown", markdown, "--plot", plot);

        Assert.Equal(0, exit);
        var report = FilteredReport.Read(json);
        Assert.Equal((2000, 40), (report.BaseCount, report.QueryCount));
        Assert.Equal([10, 80], report.Unfiltered.Select(p => p.Ef));
        Assert.Equal(8, report.Cases.Count);
        foreach (var c in report.Cases)
        {
            Assert.Equal([10, 80], c.Points.Select(p => p.Ef));
            Assert.All(c.Points, p => Assert.True(p.Qps > 0 && p.Ratio > 0 && p.Plan is { Length: > 0 }, $"{c.Name} ef {p.Ef}"));
            Assert.True(c.Points[1].Recall >= 0.95, $"{c.Name}: recall@10 at ef 80 is {c.Points[1].Recall}");
        }
        // The generated keywords split the points exactly; the range and the real classes roughly.
        Assert.Equal(0.5, report.Cases.Single(c => c.Name == "random 50 %").MeasuredSelectivity);
        Assert.Equal(0.01, report.Cases.Single(c => c.Name == "random 1 %").MeasuredSelectivity);
        Assert.Equal(0.001, report.Cases.Single(c => c.Name == "random 0.1 %").MeasuredSelectivity);
        Assert.InRange(report.Cases.Single(c => c.Name == "price range 10 %").MeasuredSelectivity, 0.07, 0.13);
        Assert.True(report.Memory.IndexBytesPerPointWithPayload > report.Memory.IndexBytesPerPointWithoutPayload);
        string page = File.ReadAllText(markdown);
        Assert.Contains("| random 10 % |", page);
        Assert.Contains("![recall against QPS per filter](out.png)", page);
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], File.ReadAllBytes(plot)[..4]);
    }

    [Fact]
    public void LabelsOfAnotherShapeAreRefusedWithExitCodeOne()
    {
        string source = WriteTinyFashionMnist(train: 100, test: 10);
        // Images where labels belong: three axes, not one.
        Idx.WriteUInt8(Path.Combine(source, FashionMnistLabels.BaseFile), new byte[100 * 16], [100, 4, 4], gzip: true);

        Assert.Equal(1, AnnBenchCli.Run("filtered", "--source", source, "--ef", "10", "--runs", "1"));
    }

    [Fact]
    public void QpsAtARecallIsInterpolatedInLogQps()
    {
        var sweep = new List<FilteredPoint> { new() { Ef = 10, Recall = 0.90, Qps = 1000 }, new() { Ef = 20, Recall = 1.0, Qps = 100 } };

        Assert.Equal(Math.Sqrt(1000 * 100), RecallCurve.QpsAt(sweep, 0.95)!.Value, 6);
        Assert.Equal(1000, RecallCurve.QpsAt(sweep, 0.5));
        Assert.Null(RecallCurve.QpsAt([sweep[0]], 0.95));
        Assert.Equal(1000, RecallCurve.QpsAtOrBest([sweep[0]], 0.95));
    }

    /// <summary>Random images in four clusters, labelled by cluster and a bit of noise, as gzip IDX files.</summary>
    private string WriteTinyFashionMnist(int train, int test)
    {
        string source = Directory.CreateDirectory(Path.Combine(_folder, "idx")).FullName;
        var random = new Random(18);
        (byte[] Images, byte[] Labels) Make(int count)
        {
            var images = new byte[count * 16];
            var labels = new byte[count];
            for (int i = 0; i < count; i++)
            {
                int cluster = random.Next(4);
                for (int d = 0; d < 16; d++) images[i * 16 + d] = (byte)(cluster * 60 + random.Next(40));
                labels[i] = (byte)(random.Next(10) < 8 ? cluster * 2 : random.Next(10));
            }
            return (images, labels);
        }
        var (trainImages, trainLabels) = Make(train);
        var (testImages, testLabels) = Make(test);
        Idx.WriteUInt8(Path.Combine(source, FashionMnist.BaseFile), trainImages, [train, 4, 4], gzip: true);
        Idx.WriteUInt8(Path.Combine(source, FashionMnist.QueryFile), testImages, [test, 4, 4], gzip: true);
        Idx.WriteUInt8(Path.Combine(source, FashionMnistLabels.BaseFile), trainLabels, [train], gzip: true);
        Idx.WriteUInt8(Path.Combine(source, FashionMnistLabels.QueryFile), testLabels, [test], gzip: true);
        return source;
    }
}
