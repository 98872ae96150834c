using AnnServer.Core;
using AnnServer.Datasets;

namespace AnnServer.Harness.Datasets;

/// <summary>
/// Fashion-MNIST as ann-benchmarks uses it (fashion-mnist-784-euclidean): the 60,000 training images are the base,
/// the 10,000 test images the queries, raw pixel values, squared L2. Read from Debian's dataset-fashion-mnist.
/// </summary>
public static class FashionMnist
{
    public const string DefaultSource = "/usr/share/datasets/fashion-mnist";
    public const string BaseFile = "train-images-idx3-ubyte.gz";
    public const string QueryFile = "t10k-images-idx3-ubyte.gz";

    public sealed record Files(string Base, string Queries, string GroundTruth, int BaseCount, int QueryCount, int Dimension);

    /// <summary>Writes base.fvecs, query.fvecs and the exact gt.ivecs into <paramref name="outputFolder"/>.</summary>
    public static Files Prepare(string sourceFolder, string outputFolder, int maxBase = int.MaxValue, int maxQueries = int.MaxValue,
        int threads = 0, Action<string>? status = null, Action<int, int>? groundTruthProgress = null)
    {
        string basePath = Path.Combine(sourceFolder, BaseFile);
        string queryPath = Path.Combine(sourceFolder, QueryFile);
        if (!File.Exists(basePath) || !File.Exists(queryPath))
        {
            string hint = sourceFolder == DefaultSource
                ? "install the Debian package: apt-get install dataset-fashion-mnist"
                : "--source must be a folder holding the IDX files of Fashion-MNIST";
            throw new FileNotFoundException($"Fashion-MNIST not found: {basePath} and {queryPath} are needed; {hint}");
        }
        status?.Invoke($"reading {basePath}");
        var baseVectors = ReadImages(basePath, maxBase);
        status?.Invoke($"reading {queryPath}");
        var queries = ReadImages(queryPath, maxQueries);
        if (baseVectors.Dimension != queries.Dimension)
            throw new InvalidDataException($"the training images have {baseVectors.Dimension} pixels but the test images {queries.Dimension}");

        Directory.CreateDirectory(outputFolder);
        var files = new Files(Path.Combine(outputFolder, "base.fvecs"), Path.Combine(outputFolder, "query.fvecs"),
            Path.Combine(outputFolder, "gt.ivecs"), baseVectors.Count, queries.Count, baseVectors.Dimension);
        Texmex.WriteFvecs(files.Base, baseVectors);
        Texmex.WriteFvecs(files.Queries, queries);

        status?.Invoke($"exact top {Math.Min(ExactGroundTruth.Depth, baseVectors.Count)} of {queries.Count} queries over {baseVectors.Count} points");
        ExactGroundTruth.Write(files.GroundTruth, baseVectors, queries, DistanceMetric.L2, threads, groundTruthProgress);
        return files;
    }

    /// <summary>A file of the Fashion-MNIST folder <paramref name="folder"/> (images or labels); FileNotFoundException
    /// naming it when it is not there.</summary>
    public static string SourceFile(string folder, string file)
    {
        string path = Path.Combine(folder, file);
        return File.Exists(path) ? path
            : throw new FileNotFoundException($"{path} not found: --source must hold Fashion-MNIST's images and labels (apt-get install dataset-fashion-mnist)");
    }

    /// <summary>The first <paramref name="maxRows"/> images of one IDX file of the folder.</summary>
    public static VectorSet ReadImages(string folder, string file, int maxRows) => ReadImages(SourceFile(folder, file), maxRows);

    private static VectorSet ReadImages(string path, int maxRows) =>
        VectorLoader.Load(path, new VectorLoadOptions { Format = VectorFormat.Idx, MaxRows = maxRows }).Vectors;
}
