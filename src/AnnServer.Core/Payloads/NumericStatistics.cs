namespace AnnServer.Core.Payloads;

/// <summary>
/// Live counts of an int64 field for the planner: exact counts per value while the field has few distinct values (a
/// category, a status, a tag id: what integer matches are for), and a <see cref="NumericHistogram"/> always (for ranges,
/// and for matches once the exact counts are dropped). Used under the index's map lock only.
/// </summary>
internal sealed class NumericStatistics
{
    /// <summary>Past this many distinct values the exact counts (24 bytes a value) are dropped for good.</summary>
    public const int MaxExactValues = 1 << 16;

    private Dictionary<long, int>? _exact = [];

    public NumericHistogram Histogram { get; } = new();

    public long MemoryBytes => Histogram.MemoryBytes + (_exact?.Count ?? 0) * 24L;

    public void Count(long value, int delta)
    {
        Histogram.Count(value, delta);
        if (_exact is null) return;
        int count = _exact.GetValueOrDefault(value) + delta;
        if (count == 0) _exact.Remove(value);
        else _exact[value] = count;
        if (_exact.Count > MaxExactValues) _exact = null;
    }

    /// <summary>Estimated live nodes whose value is <paramref name="value"/>.</summary>
    public double EstimateEqual(long value) =>
        _exact is not null ? _exact.GetValueOrDefault(value) : Histogram.Estimate(value - 0.5, value + 0.5);
}
