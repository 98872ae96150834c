namespace AnnServer.Datasets;

/// <summary>Reads a whole vector file into memory, validating every row (<see cref="RowValidator"/>).</summary>
public static class VectorLoader
{
    /// <summary>How often progress is reported: often enough for a smooth bar, rarely enough to cost nothing.</summary>
    private const int ProgressEveryRows = 1024;

    /// <summary>Opens and reads <paramref name="path"/>.</summary>
    /// <param name="progress">Receives the number of rows read so far, now and then and at the end.</param>
    /// <exception cref="InvalidDataException">a malformed file, or one without rows.</exception>
    /// <exception cref="InvalidRowException">(when not skipping) a row of the wrong dimension or with a NaN/infinite component.</exception>
    public static LoadedVectors Load(string path, VectorLoadOptions? options = null, IProgress<long>? progress = null,
        CancellationToken cancellationToken = default)
    {
        options ??= new VectorLoadOptions();
        using var reader = VectorReader.Open(path, options.Format, options.Hdf5Dataset, options.Parquet);
        return Load(reader, options, progress, cancellationToken);
    }

    /// <summary>Reads the remaining rows of an open reader (so a caller can look at its dimension and size first).</summary>
    public static LoadedVectors Load(VectorReader reader, VectorLoadOptions? options = null, IProgress<long>? progress = null,
        CancellationToken cancellationToken = default)
    {
        options ??= new VectorLoadOptions();
        int dimension = reader.Dimension;
        var validator = new RowValidator(reader.Path, dimension, options.SkipInvalid, reader.Locate);
        long maxRowsByMemory = Array.MaxLength / dimension;
        long expected = Math.Min(reader.ExpectedRows, options.MaxRows);
        if (expected > maxRowsByMemory)
            throw new InvalidDataException($"{reader.Path}: {expected} rows of dimension {dimension} are more than one array can hold ({maxRowsByMemory} rows at most)");

        var data = new float[expected * dimension];
        var row = new float[dimension];
        int count = 0;
        long sourceRow = reader.RowsRead;
        while (sourceRow < options.MaxRows && reader.TryReadRow(row, out int rowDimension))
        {
            bool accepted = reader.LastRowDefect is { } defect ? validator.Reject(sourceRow, defect) : validator.Accept(sourceRow, rowDimension, row);
            if (accepted)
            {
                if ((long)(count + 1) * dimension > data.Length)
                {
                    // Only TEXMEX files with rows of another dimension hold more rows than announced.
                    if (count + 1 > maxRowsByMemory)
                        throw new InvalidDataException($"{reader.Path}: more rows than one array can hold ({maxRowsByMemory} of dimension {dimension})");
                    Array.Resize(ref data, (int)Math.Min((long)Math.Max(count * 2, 1024) * dimension, maxRowsByMemory * dimension));
                }
                row.CopyTo(data.AsSpan(count * dimension));
                count++;
            }
            sourceRow++;
            if (sourceRow % ProgressEveryRows == 0)
            {
                progress?.Report(sourceRow);
                cancellationToken.ThrowIfCancellationRequested();
            }
        }
        progress?.Report(sourceRow);

        if (sourceRow == 0)
            throw new InvalidDataException($"{reader.Path}: the file holds no vectors");
        if (count == 0)
            throw new InvalidDataException($"{reader.Path}: all {sourceRow} rows are invalid and were skipped");
        if ((long)count * dimension != data.Length) Array.Resize(ref data, count * dimension);
        return new LoadedVectors(new VectorSet(data, count, dimension), reader.Format, sourceRow, validator.SkippedRows,
            validator.SkippedWrongDimension, validator.SkippedNonFinite, validator.SkippedNull, validator.SkippedDuplicateId, validator.SkippedInvalidPayload);
    }
}
