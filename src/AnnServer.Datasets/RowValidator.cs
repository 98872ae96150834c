namespace AnnServer.Datasets;

/// <summary>
/// Decides row by row whether a vector can be indexed: right dimension, every component finite. Either rejects the
/// first bad row with an <see cref="InvalidRowException"/>, or (when skipping) counts it and remembers its row number.
/// </summary>
public sealed class RowValidator(string path, int dimension, bool skipInvalid)
{
    private readonly List<long> _skippedRows = [];

    public bool SkipInvalid { get; } = skipInvalid;

    /// <summary>Row numbers (from 0) of the rows skipped so far, in order.</summary>
    public IReadOnlyList<long> SkippedRows => _skippedRows;

    public long SkippedWrongDimension { get; private set; }
    public long SkippedNonFinite { get; private set; }

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
                throw new InvalidRowException($"{path}: row {row} has dimension {rowDimension}, expected {dimension} (the dimension of row 0)",
                    row, InvalidRowReason.WrongDimension);
            SkippedWrongDimension++;
            _skippedRows.Add(row);
            return false;
        }
        int bad = IndexOfNonFinite(values);
        if (bad < 0) return true;
        if (!SkipInvalid)
            throw new InvalidRowException($"{path}: row {row} component {bad} is {Describe(values[bad])}; vectors must be finite",
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
