namespace AnnServer.Datasets;

/// <summary>The vectors read from a file, and what was left out of them.</summary>
public sealed class LoadedVectors(VectorSet vectors, VectorFormat format, long sourceRows, IReadOnlyList<long> skippedRows,
    long skippedWrongDimension, long skippedNonFinite, long skippedNull = 0, long skippedDuplicateId = 0, long skippedInvalidPayload = 0)
{
    public VectorSet Vectors { get; } = vectors;
    public VectorFormat Format { get; } = format;

    /// <summary>Rows read from the file, skipped ones included.</summary>
    public long SourceRows { get; } = sourceRows;

    /// <summary>Row numbers (from 0) of the skipped rows, ascending. Empty unless invalid rows were skipped.</summary>
    public IReadOnlyList<long> SkippedRows { get; } = skippedRows;

    public long SkippedWrongDimension { get; } = skippedWrongDimension;
    public long SkippedNonFinite { get; } = skippedNonFinite;

    /// <summary>Rows skipped for a null vector, component or id (Parquet only).</summary>
    public long SkippedNull { get; } = skippedNull;

    /// <summary>Rows skipped because their id was already used (Parquet only).</summary>
    public long SkippedDuplicateId { get; } = skippedDuplicateId;

    /// <summary>Rows skipped because a payload value is NaN or past a payload limit (Parquet only).</summary>
    public long SkippedInvalidPayload { get; } = skippedInvalidPayload;

    /// <summary>
    /// Given one entry per source row (an id or labels per row of the file), returns the entries of the rows that were
    /// kept, in order, so that they line up with <see cref="Vectors"/>.
    /// </summary>
    public T[] KeepLoadedRows<T>(IReadOnlyList<T> perSourceRow)
    {
        if (perSourceRow.Count != SourceRows)
            throw new ArgumentException($"{perSourceRow.Count} entries for {SourceRows} source rows", nameof(perSourceRow));
        var kept = new T[Vectors.Count];
        int next = 0;
        int skipped = 0;
        for (int row = 0; row < perSourceRow.Count; row++)
        {
            if (skipped < SkippedRows.Count && SkippedRows[skipped] == row)
            {
                skipped++;
                continue;
            }
            kept[next++] = perSourceRow[row];
        }
        return kept;
    }
}
