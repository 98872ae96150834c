using System.CommandLine;
using AnnServer.Datasets;
using AnnServer.Harness.Datasets;
using AnnServer.Harness.Filtered;

namespace AnnServer.Harness.Cli;

/// <summary>
/// The options `ann-bench filtered` and `ann-bench recommend` share: where Fashion-MNIST is, how much of its training
/// set becomes the index, and how the index is built; and the labelled training set they read from them.
/// </summary>
internal sealed class FashionMnistIndexOptions
{
    public Option<string> Source { get; } = new("--source")
    {
        Description = "folder of Fashion-MNIST's IDX files, images and labels (Debian's dataset-fashion-mnist)",
        DefaultValueFactory = _ => FashionMnist.DefaultSource,
    };

    public Option<int?> MaxBase { get; } = new("--max-base") { Description = "use only the first N training images" };
    public Option<int> M { get; } = new("--m") { Description = "HNSW links per node (level 0 keeps 2·M)", DefaultValueFactory = _ => 16 };
    public Option<int> EfConstruction { get; } = new("--ef-construction") { Description = "candidate list size while building", DefaultValueFactory = _ => 200 };
    public Option<int> BuildThreads { get; } = new("--build-threads") { Description = "threads for building (0 = all cores)", DefaultValueFactory = _ => 0 };

    /// <summary>The build threads asked for, all cores for 0.</summary>
    public int BuildThreadsOf(ParseResult parse) => parse.GetValue(BuildThreads) is int threads and > 0 ? threads : Environment.ProcessorCount;

    /// <summary>The first --max-base training images and their class labels, one per image.</summary>
    /// <exception cref="InvalidDataException">the label file does not hold a label per image.</exception>
    public (VectorSet Images, byte[] Classes) ReadBase(ParseResult parse)
    {
        string source = parse.GetValue(Source)!;
        int maxBase = parse.GetValue(MaxBase) ?? int.MaxValue;
        VectorSet images = FashionMnist.ReadImages(source, FashionMnist.BaseFile, maxBase);
        byte[] classes = FashionMnistLabels.Read(FashionMnist.SourceFile(source, FashionMnistLabels.BaseFile), maxBase);
        if (classes.Length != images.Count)
            throw new InvalidDataException($"{FashionMnistLabels.BaseFile} has {classes.Length} labels for {images.Count} images");
        return (images, classes);
    }
}
