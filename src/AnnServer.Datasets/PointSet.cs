using AnnServer.Core.Payloads;

namespace AnnServer.Datasets;

/// <summary>
/// Everything needed to build an index: vectors, one id per vector and optional labels and payloads per vector, already lined up.
/// Without an ids file, a point's id is its row number in the vector file (from 0), so ids stay stable when rows are skipped.
/// </summary>
public sealed class PointSet
{
    private PointSet(LoadedVectors source, long[] ids, int[][]? labels, Payload?[]? payloads)
    {
        Source = source;
        Ids = ids;
        Labels = labels;
        Payloads = payloads;
    }

    /// <summary>The vectors, and what was skipped while reading them.</summary>
    public LoadedVectors Source { get; }

    public VectorSet Vectors => Source.Vectors;

    /// <summary>One id per vector.</summary>
    public long[] Ids { get; }

    /// <summary>One label array per vector, or null when no labels file was given.</summary>
    public int[][]? Labels { get; }

    /// <summary>One payload per vector (null for a point without one), or null when no payload was read.</summary>
    public Payload?[]? Payloads { get; }

    /// <summary>Reads the vectors, then the ids and labels files (when given), and checks that they have one entry per row.</summary>
    /// <exception cref="InvalidDataException">a malformed file, or an ids/labels file whose length differs from the number of rows.</exception>
    public static PointSet Load(string vectorsPath, string? idsPath = null, string? labelsPath = null, VectorLoadOptions? options = null,
        IProgress<long>? progress = null, CancellationToken cancellationToken = default)
    {
        // The small files first: a mistake in them is reported before minutes of reading vectors.
        long[]? ids = idsPath is null ? null : IdsFile.Read(idsPath);
        int[][]? labels = labelsPath is null ? null : LabelsFile.Read(labelsPath);
        var vectors = VectorLoader.Load(vectorsPath, options, progress, cancellationToken);
        return Create(vectors, ids, labels, vectorsPath, idsPath, labelsPath);
    }

    /// <summary>Lines up per-row ids and labels (one entry per row of the file, skipped rows included) with the loaded vectors.</summary>
    public static PointSet Create(LoadedVectors vectors, long[]? idsPerRow, int[][]? labelsPerRow,
        string vectorsPath = "the vector file", string? idsPath = "the ids file", string? labelsPath = "the labels file",
        IReadOnlyList<Payload?>? payloadsPerRow = null)
    {
        long rows = vectors.SourceRows;
        CheckLengths(rows, idsPerRow, labelsPerRow, vectorsPath, idsPath, labelsPath);

        long[] ids;
        if (idsPerRow is not null) ids = vectors.KeepLoadedRows(idsPerRow);
        else
        {
            ids = new long[vectors.Vectors.Count];
            int next = 0;
            int skipped = 0;
            for (long row = 0; row < rows; row++)
            {
                if (skipped < vectors.SkippedRows.Count && vectors.SkippedRows[skipped] == row) skipped++;
                else ids[next++] = row;
            }
        }
        int[][]? labels = labelsPerRow is null ? null : vectors.KeepLoadedRows(labelsPerRow);
        Payload?[]? payloads = payloadsPerRow is null ? null : vectors.KeepLoadedRows(payloadsPerRow);
        return new PointSet(vectors, ids, labels, payloads);
    }

    /// <summary>Checks that the ids and labels have one entry per row of the vector file. Callers whose reader knows the
    /// row count before reading (<see cref="VectorReader.ExpectedRowsAreExact"/>) can check before spending time on the vectors.</summary>
    /// <exception cref="InvalidDataException">a length differs; the message names both files and both counts.</exception>
    public static void CheckLengths(long rows, long[]? idsPerRow, int[][]? labelsPerRow,
        string vectorsPath = "the vector file", string? idsPath = "the ids file", string? labelsPath = "the labels file")
    {
        if (idsPerRow is not null && idsPerRow.LongLength != rows)
            throw new InvalidDataException($"{idsPath}: has {idsPerRow.LongLength} ids but {vectorsPath} has {rows} rows; there must be one id per row");
        if (labelsPerRow is not null && labelsPerRow.LongLength != rows)
            throw new InvalidDataException($"{labelsPath}: has {labelsPerRow.LongLength} lines but {vectorsPath} has {rows} rows; there must be one line of labels per row");
    }
}
