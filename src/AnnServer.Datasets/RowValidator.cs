namespace AnnServer.Datasets;

/// <summary>
/// Decides row by row whether a vector can be indexed: right dimension, every component finite. Either rejects the
/// first bad row with an <see cref="InvalidRowException"/>, or (when skipping) counts it and remembers its row number.
/// </summary>
/// <param name="locate">Names a row in messages ("data.parquet: row group 2, row 17 (row 1041 of the input)");
/// by default "<paramref name="path"/>: row N".</param>
public sealed class RowValidator(string path, int dimension, bool skipInvalid, Func<long, string>? locate = null)
{
    private readonly List<long> _skippedRows = [];
    private readonly Func<long, string> _locate = locate ?? (row => $"{path}: row {row}");

    public bool SkipInvalid { get; } = skipInvalid;

    /// <summary>Row numbers (from 0) of the rows skipped so far, in order.</summary>
    public IReadOnlyList<long> SkippedRows => _skippedRows;

    public long SkippedWrongDimension { get; private set; }
    public long SkippedNonFinite { get; private set; }

    /// <summary>Rows skipped for a null vector or component, a null id, or a duplicate id (<see cref="RowDefect"/>).</summary>
    public long SkippedNull { get; private set; }
    public long SkippedDuplicateId { get; private set; }
    public long SkippedInvalidPayload { get; private set; }

    /// <summary>Refuses a row its reader found unusable; false when it is skipped.</summary>
    /// <exception cref="InvalidRowException">bad rows are not skipped.</exception>
    public bool Reject(long row, RowDefect defect)
    {
        if (!SkipInvalid)
            throw new InvalidRowException($"{_locate(row)}: {defect.Problem}", row, defect.Reason);
        if (defect.Reason == InvalidRowReason.DuplicateId) SkippedDuplicateId++;
        else if (defect.Reason == InvalidRowReason.NonFinite) SkippedNonFinite++;
        else if (defect.Reason == InvalidRowReason.InvalidPayload) SkippedInvalidPayload++;
        else SkippedNull++;
        _skippedRows.Add(row);
        return false;
    }

    /// <summary>True when the row may be used; false when it is skipped.</summary>
    /// <param name="row">The row number in the file, from 0.</param>
    /// <param name="rowDimension">The dimension the row declared.</param>
    /// <param name="values">The row's components (ignored when the dimension is wrong).</param>
    /// <exception cref="InvalidRowException">the row is bad and bad rows are not skipped.</exception>
    public bool Accept(long row, int rowDimension, ReadOnlySpan<float> values)
    {
        if (rowDimension != dimension)
        {
            if (!SkipInvalid)
                throw new InvalidRowException($"{_locate(row)} has dimension {rowDimension}, expected {dimension} (the dimension of row 0)",
                    row, InvalidRowReason.WrongDimension);
            SkippedWrongDimension++;
            _skippedRows.Add(row);
            return false;
        }
        int bad = IndexOfNonFinite(values);
        if (bad < 0) return true;
        if (!SkipInvalid)
            throw new InvalidRowException($"{_locate(row)} component {bad} is {Describe(values[bad])}; vectors must be finite",
                row, InvalidRowReason.NonFinite);
        SkippedNonFinite++;
        _skippedRows.Add(row);
        return false;
    }

    /// <summary>The first component that is NaN or infinite, or -1.</summary>
    public static int IndexOfNonFinite(ReadOnlySpan<float> values)
    {
        for (int i = 0; i < values.Length; i++)
            if (!float.IsFinite(values[i])) return i;
        return -1;
    }

    private static string Describe(float value) =>
        float.IsNaN(value) ? "NaN" : float.IsPositiveInfinity(value) ? "+infinity" : "-infinity";
}
