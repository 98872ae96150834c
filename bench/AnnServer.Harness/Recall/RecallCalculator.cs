namespace AnnServer.Harness.Recall;

/// <summary>
/// recall@k, tie-aware as ann-benchmarks computes it: a returned point is a true neighbour when its exact distance to
/// the query is no larger than the k-th true neighbour's. With ties at the k-th distance the exact top k is not unique,
/// and counting by id alone would call a correct answer wrong; counting by distance gives every tied point credit.
/// </summary>
/// <remarks>Each returned id counts once; results missing (fewer than k returned) count as misses. When the data set
/// holds fewer than k points, the ground truth is shorter than k and the denominator is its length.</remarks>
public static class RecallCalculator
{
    /// <summary>Relative slack when comparing float64 distances: far below the gap between two distinct distances of
    /// real data, far above the rounding of a 4096-term float64 sum. bench/peers/hnswlib.py uses the same.</summary>
    public const double Tolerance = 1e-9;

    /// <summary>recall@k of one query.</summary>
    /// <param name="returnedIds">the ids the system returned, best first (only the first k are looked at).</param>
    /// <param name="returnedDistances">the exact distance of each returned id to the query (same order).</param>
    /// <param name="kthTrueDistance">the largest exact distance among the first k ground-truth neighbours.</param>
    /// <param name="k">the k of recall@k.</param>
    /// <param name="truthCount">how many ground-truth neighbours exist (less than k only for tiny data sets).</param>
    public static double TieAware(ReadOnlySpan<long> returnedIds, ReadOnlySpan<double> returnedDistances,
        double kthTrueDistance, int k, int truthCount)
    {
        if (returnedIds.Length != returnedDistances.Length)
            throw new ArgumentException("one distance per returned id is needed");
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(k);
        int denominator = Math.Min(k, truthCount);
        if (denominator <= 0) return 1.0; // nothing to find: nothing missed
        double limit = kthTrueDistance + Math.Abs(kthTrueDistance) * Tolerance;
        int n = Math.Min(k, returnedIds.Length);
        int hits = 0;
        for (int i = 0; i < n; i++)
        {
            if (!(returnedDistances[i] <= limit)) continue;
            if (IsRepeated(returnedIds, i)) continue;
            hits++;
        }
        return Math.Min(hits, denominator) / (double)denominator;
    }

    /// <summary>recall@k by id: the share of the first k ground-truth ids that were returned. Used where no vectors
    /// are at hand to settle ties; it under-counts when the k-th distance is tied.</summary>
    public static double ById(ReadOnlySpan<long> returnedIds, ReadOnlySpan<int> groundTruth, int k)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(k);
        var truth = groundTruth[..Math.Min(k, groundTruth.Length)];
        if (truth.Length == 0) return 1.0;
        int n = Math.Min(k, returnedIds.Length);
        int hits = 0;
        for (int i = 0; i < n; i++)
        {
            if (IsRepeated(returnedIds, i)) continue;
            foreach (int t in truth)
                if (t == returnedIds[i]) { hits++; break; }
        }
        return hits / (double)truth.Length;
    }

    // k is small (10 to 100): a quadratic scan beats a set here and allocates nothing.
    private static bool IsRepeated(ReadOnlySpan<long> ids, int index)
    {
        for (int j = 0; j < index; j++)
            if (ids[j] == ids[index]) return true;
        return false;
    }
}
