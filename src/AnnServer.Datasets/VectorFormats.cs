namespace AnnServer.Datasets;

/// <summary>Parses format names and tells a file's format from its name, or failing that, from its first bytes.</summary>
public static class VectorFormats
{
    /// <summary>The names accepted by <see cref="Parse"/>, as a user would type them.</summary>
    public const string Names = "fvecs, bvecs, idx, npy, hdf5, parquet";

    /// <summary>Parses a format name (case-insensitive; "h5" is accepted for hdf5).</summary>
    /// <exception cref="ArgumentException">the name is not one of <see cref="Names"/>.</exception>
    public static VectorFormat Parse(string name) => name.Trim().ToLowerInvariant() switch
    {
        "fvecs" => VectorFormat.Fvecs,
        "bvecs" => VectorFormat.Bvecs,
        "idx" => VectorFormat.Idx,
        "npy" => VectorFormat.Npy,
        "hdf5" or "h5" => VectorFormat.Hdf5,
        "parquet" => VectorFormat.Parquet,
        _ => throw new ArgumentException($"unknown format '{name}': use one of {Names}"),
    };

    /// <summary>
    /// The format of <paramref name="path"/>: a folder holding .parquet files is Parquet; for a file, by extension first
    /// (.fvecs, .bvecs, .npy, .hdf5/.h5, .parquet, and IDX names such as train-images-idx3-ubyte[.gz] or *.idx[.gz]), then by
    /// the file's magic bytes (NumPy, HDF5, Parquet, IDX, gzip-compressed IDX).
    /// </summary>
    /// <exception cref="InvalidDataException">neither the name nor the content says which format it is.</exception>
    public static VectorFormat Detect(string path)
    {
        if (Directory.Exists(path))
        {
            if (ParquetParts.List(path).Count > 0) return VectorFormat.Parquet;
            throw new InvalidDataException($"{path} is a folder without .parquet part files; only Parquet input can be a folder");
        }
        if (TryDetectFromName(path, out var format)) return format;
        if (TryDetectFromContent(path, out format)) return format;
        throw new InvalidDataException(
            $"{path}: cannot tell the format from the file name or its first bytes; name the format ({Names})");
    }

    public static bool TryDetectFromName(string path, out VectorFormat format)
    {
        string name = Path.GetFileName(path).ToLowerInvariant();
        if (name.EndsWith(".gz", StringComparison.Ordinal)) name = name[..^3];
        format = default;
        if (name.EndsWith(".fvecs", StringComparison.Ordinal)) format = VectorFormat.Fvecs;
        else if (name.EndsWith(".bvecs", StringComparison.Ordinal)) format = VectorFormat.Bvecs;
        else if (name.EndsWith(".npy", StringComparison.Ordinal)) format = VectorFormat.Npy;
        else if (name.EndsWith(".hdf5", StringComparison.Ordinal) || name.EndsWith(".h5", StringComparison.Ordinal)) format = VectorFormat.Hdf5;
        else if (name.EndsWith(".parquet", StringComparison.Ordinal)) format = VectorFormat.Parquet;
        else if (name.EndsWith(".idx", StringComparison.Ordinal) || IsMnistStyleIdxName(name)) format = VectorFormat.Idx;
        else return false;
        return true;
    }

    public static bool TryDetectFromContent(string path, out VectorFormat format)
    {
        format = default;
        Span<byte> head = stackalloc byte[8];
        int read;
        using (var stream = File.OpenRead(path))
            read = stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        head = head[..read];
        if (head.StartsWith(Npy.Magic)) format = VectorFormat.Npy;
        else if (head.StartsWith(Hdf5Signature)) format = VectorFormat.Hdf5;
        else if (head.StartsWith("PAR1"u8)) format = VectorFormat.Parquet;
        else if (head.Length >= 2 && head[0] == 0x1f && head[1] == 0x8b) format = VectorFormat.Idx; // gzip: only IDX is read compressed
        else if (head.Length >= 4 && head[0] == 0 && head[1] == 0 && Idx.IsKnownTypeCode(head[2]) && head[3] is >= 1 and <= 8) format = VectorFormat.Idx;
        else return false;
        return true;
    }

    /// <summary>The MNIST files are named like "train-images-idx3-ubyte": "idx" followed by the number of axes.</summary>
    private static bool IsMnistStyleIdxName(string name)
    {
        int at = name.IndexOf("idx", StringComparison.Ordinal);
        return at >= 0 && at + 3 < name.Length && char.IsAsciiDigit(name[at + 3]);
    }

    private static ReadOnlySpan<byte> Hdf5Signature => [0x89, (byte)'H', (byte)'D', (byte)'F', 0x0d, 0x0a, 0x1a, 0x0a];
}
