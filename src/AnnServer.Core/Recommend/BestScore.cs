using System.Runtime.CompilerServices;

namespace AnnServer.Core.Recommend;

/// <summary>
/// The best-score rule of a recommendation by examples (Qdrant's best_score strategy), on distances: a point is scored
/// by its nearest positive example against its nearest negative one. Points nearer a positive than any negative come
/// first, by that positive's distance; after them the points nearer a negative, those farthest from it first.
/// </summary>
/// <remarks>
/// Qdrant scores similarities (larger is better) as sigmoid(best positive) or −sigmoid(best negative). With our
/// smaller-is-closer distances the same order is <c>s(dp)</c> in (0, 1) when dp &lt; dn, else <c>2 − s(dn)</c> in (1, 2),
/// where s(x) = (x / (1 + |x|) + 1) / 2 is the same scaled fast sigmoid, increasing, so it keeps each side's order and
/// puts every "nearer a positive" point before every other. The value is a score, not a distance: it is what a hit's
/// distance carries, and what shards' answers are merged on (every shard scores with the same examples).
/// </remarks>
public static class BestScore
{
    /// <summary>The score of a point whose nearest positive example is at <paramref name="bestPositive"/> and nearest
    /// negative one at <paramref name="bestNegative"/> (+∞ without negatives).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Combine(float bestPositive, float bestNegative) =>
        bestPositive < bestNegative ? Squash(bestPositive) : 2f - Squash(bestNegative);

    /// <summary>Maps any distance increasingly into (0, 1); ±∞ to the ends.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Squash(float distance)
    {
        if (float.IsInfinity(distance)) return distance > 0 ? 1f : 0f;
        return 0.5f * (distance / (1f + MathF.Abs(distance)) + 1f);
    }
}
