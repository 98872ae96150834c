namespace AnnServer.Datasets;

/// <summary>
/// Reads a vector file row by row, so a caller can show progress, stop early, or stream rows to another file without
/// holding them all. Open one with <see cref="Open"/>; <see cref="VectorLoader"/> reads a whole file into a
/// <see cref="VectorSet"/> with validation.
/// </summary>
/// <remarks>Rows are numbered from 0 in the order they appear in the file; every error message uses that number.
/// A reader checks the file's structure only; whether the values are finite is <see cref="RowValidator"/>'s job.</remarks>
public abstract class VectorReader : IDisposable
{
    /// <summary>Largest number of components per row a reader accepts: beyond it a header is surely corrupt.</summary>
    public const int MaxDimension = 1 << 20;

    protected VectorReader(string path) => Path = path;

    /// <summary>The length of the file <paramref name="path"/> names: opening follows symbolic links, where
    /// <c>new FileInfo(link).Length</c> is the link's own length on Linux.</summary>
    private static long LengthThroughLinks(string path)
    {
        using var handle = File.OpenHandle(path);
        return RandomAccess.GetLength(handle);
    }

    /// <summary>Opens <paramref name="path"/> in <paramref name="format"/>, or in the format its name or content shows.</summary>
    /// <param name="hdf5Dataset">For HDF5 files: the dataset to read ("train" when null). Rejected for other formats.</param>
    /// <param name="parquet">For Parquet input (a file or a folder of parts): the vector and id columns. Rejected for other formats.</param>
    /// <exception cref="InvalidDataException">the file is empty, malformed, or of a type that is not supported.</exception>
    /// <exception cref="FileNotFoundException">the file does not exist.</exception>
    public static VectorReader Open(string path, VectorFormat? format = null, string? hdf5Dataset = null, ParquetColumns? parquet = null)
    {
        if (Directory.Exists(path) && (format == VectorFormat.Parquet || format is null && ParquetParts.List(path).Count > 0))
            return new ParquetVectorReader(path, parquet);
        if (!File.Exists(path))
            throw new FileNotFoundException(Directory.Exists(path) ? $"{path} is a folder, not a file" : $"{path} does not exist", path);
        if (LengthThroughLinks(path) == 0)
            throw new InvalidDataException($"{path}: the file is empty");
        var actual = format ?? VectorFormats.Detect(path);
        if (hdf5Dataset is not null && actual != VectorFormat.Hdf5)
            throw new ArgumentException($"a dataset name ('{hdf5Dataset}') only applies to HDF5 files; {path} is read as {actual.ToString().ToLowerInvariant()}");
        if (parquet is not null && actual != VectorFormat.Parquet)
            throw new ArgumentException($"vector and id columns only apply to Parquet input; {path} is read as {actual.ToString().ToLowerInvariant()}");
        return actual switch
        {
            VectorFormat.Fvecs => new TexmexVectorReader(path, VectorFormat.Fvecs),
            VectorFormat.Bvecs => new TexmexVectorReader(path, VectorFormat.Bvecs),
            VectorFormat.Idx => new IdxVectorReader(path),
            VectorFormat.Npy => new NpyVectorReader(path),
            VectorFormat.Hdf5 => new Hdf5VectorReader(path, hdf5Dataset ?? AnnBenchmarksHdf5.Train),
            VectorFormat.Parquet => new ParquetVectorReader(path, parquet),
            _ => throw new ArgumentOutOfRangeException(nameof(format), actual, "unknown vector format"),
        };
    }

    /// <summary>The file being read, as given.</summary>
    public string Path { get; }

    public abstract VectorFormat Format { get; }

    /// <summary>Components per row (for TEXMEX files, the dimension of row 0).</summary>
    public int Dimension { get; protected init; }

    /// <summary>Rows the file announces: exact for IDX, NumPy and HDF5; for TEXMEX files, the file length divided by the
    /// size of row 0, which is exact unless some rows have another dimension.</summary>
    public long ExpectedRows { get; protected init; }

    /// <summary>Whether <see cref="ExpectedRows"/> is certain before reading (every format but TEXMEX, whose rows may differ in size).</summary>
    public virtual bool ExpectedRowsAreExact => true;

    /// <summary>Rows consumed so far, including rows of the wrong dimension.</summary>
    public long RowsRead { get; protected set; }

    /// <summary>
    /// Reads the next row into <paramref name="destination"/>, which must hold <see cref="Dimension"/> floats.
    /// Returns false at the end of the file. <paramref name="rowDimension"/> is the row's own dimension: only a TEXMEX
    /// row can differ from <see cref="Dimension"/>, and then the row is consumed but <paramref name="destination"/> is not written.
    /// </summary>
    /// <exception cref="InvalidDataException">the file ends inside a row, or a row header is impossible.</exception>
    public abstract bool TryReadRow(Span<float> destination, out int rowDimension);

    /// <summary>Set by <see cref="TryReadRow"/> when the row it just read is unusable for a reason of the format's own
    /// (a null vector, a duplicate id); null otherwise. Only Parquet rows have such defects.</summary>
    public RowDefect? LastRowDefect { get; protected set; }

    /// <summary>Names row <paramref name="row"/> (from 0, the row just read) for an error message: "path: row N".</summary>
    public virtual string Locate(long row) => $"{Path}: row {row}";

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    protected virtual void Dispose(bool disposing) { }

    protected static FileStream OpenSequential(string path) =>
        new(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);

    /// <summary>Fills <paramref name="buffer"/>; false when the stream was already at its end, an error when it ends part-way.</summary>
    protected bool ReadRowBytes(Stream stream, Span<byte> buffer)
    {
        int read = stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
        if (read == 0) return false;
        if (read < buffer.Length)
            throw new InvalidDataException($"{Path}: row {RowsRead} is truncated (the file ends {read} bytes into a {buffer.Length}-byte row)");
        return true;
    }
}
