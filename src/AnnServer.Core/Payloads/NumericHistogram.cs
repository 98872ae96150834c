namespace AnnServer.Core.Payloads;

/// <summary>
/// Live counts of a numeric field by value range, for the planner's estimate of a range condition: one bucket per
/// 1/64 of a binade (the top 18 bits of an order-preserving key of the double: sign, 11 exponent bits, 6 mantissa
/// bits), so a bucket spans about 1.6 % of its values' magnitude whatever their scale, and only occupied buckets cost
/// memory. Used under the index's map lock only.
/// </summary>
internal sealed class NumericHistogram
{
    private const int KeyShift = 46;

    private readonly Dictionary<int, int> _countByBucket = [];

    public long MemoryBytes => _countByBucket.Count * 24L;

    public void Count(double value, int delta)
    {
        int bucket = Bucket(value);
        int count = _countByBucket.GetValueOrDefault(bucket) + delta;
        if (count == 0) _countByBucket.Remove(bucket);
        else _countByBucket[bucket] = count;
    }

    /// <summary>Estimated live values in [low, high] (inclusive): whole buckets inside, plus the overlapping part of the
    /// buckets cut by a bound, assuming values spread evenly inside a bucket.</summary>
    public double Estimate(double low, double high)
    {
        if (!(low <= high)) return 0;
        int first = Bucket(low), last = Bucket(high);
        double total = 0;
        foreach (var (bucket, count) in _countByBucket)
        {
            if (bucket < first || bucket > last) continue;
            if (bucket > first && bucket < last) { total += count; continue; }
            double bucketLow = LowestOf(bucket), bucketHigh = HighestOf(bucket);
            double width = bucketHigh - bucketLow;
            double overlap = Math.Min(high, bucketHigh) - Math.Max(low, bucketLow);
            total += width > 0 && double.IsFinite(width) ? count * Math.Clamp(overlap / width, 0, 1) : count;
        }
        return total;
    }

    private static int Bucket(double value) => (int)(OrderedKey(value) >> KeyShift);

    /// <summary>The double's bits turned so that unsigned order is numeric order.</summary>
    private static ulong OrderedKey(double value)
    {
        long bits = BitConverter.DoubleToInt64Bits(value);
        return bits >= 0 ? (ulong)bits | 0x8000_0000_0000_0000UL : ~(ulong)bits;
    }

    private static double FromOrderedKey(ulong key) =>
        BitConverter.Int64BitsToDouble((key & 0x8000_0000_0000_0000UL) != 0 ? (long)(key & 0x7FFF_FFFF_FFFF_FFFFUL) : (long)~key);

    private static double LowestOf(int bucket) => FromOrderedKey((ulong)bucket << KeyShift);
    private static double HighestOf(int bucket) => FromOrderedKey(((ulong)bucket << KeyShift) | ((1UL << KeyShift) - 1));
}
