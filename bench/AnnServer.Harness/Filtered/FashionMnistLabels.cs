using System.Buffers.Binary;
using System.IO.Compression;
using AnnServer.Datasets;

namespace AnnServer.Harness.Filtered;

/// <summary>
/// Fashion-MNIST's class labels (train-labels-idx1-ubyte.gz, t10k-labels-idx1-ubyte.gz in Debian's
/// dataset-fashion-mnist): one uint8 per image, 0 to 9, about 10 % each.
/// </summary>
public static class FashionMnistLabels
{
    public const string BaseFile = "train-labels-idx1-ubyte.gz";
    public const string QueryFile = "t10k-labels-idx1-ubyte.gz";

    /// <summary>The classes' names, by label (Zalando's fashion-mnist README).</summary>
    public static readonly string[] ClassNames =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    /// <summary>Reads an IDX file of one axis of uint8 (raw, or gzip when the name ends in .gz); at most maxRows.</summary>
    public static byte[] Read(string path, int maxRows = int.MaxValue)
    {
        using Stream file = File.OpenRead(path);
        using Stream stream = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? new GZipStream(file, CompressionMode.Decompress) : file;
        Span<byte> header = stackalloc byte[8];
        stream.ReadExactly(header);
        if (header[0] != 0 || header[1] != 0 || header[2] != Idx.UInt8 || header[3] != 1)
            throw new InvalidDataException($"{path}: not an IDX file of one axis of uint8 labels (header {Convert.ToHexString(header[..4])})");
        int count = BinaryPrimitives.ReadInt32BigEndian(header[4..]);
        if (count < 0) throw new InvalidDataException($"{path}: negative label count {count}");
        var labels = new byte[Math.Min(count, maxRows)];
        stream.ReadExactly(labels);
        foreach (byte label in labels)
            if (label >= ClassNames.Length)
                throw new InvalidDataException($"{path}: label {label} is not a Fashion-MNIST class (0 to {ClassNames.Length - 1})");
        return labels;
    }
}
