using System.Runtime.CompilerServices;

namespace AnnServer.Core.Recommend;

/// <summary>
/// The best-score rule of a recommendation by examples (Qdrant's best_score strategy), on distances: a point is scored
/// by its nearest positive example against its nearest negative one. Points nearer a positive than any negative come
/// first, by that positive's distance; after them the points nearer a negative, those farthest from it first.
/// </summary>
/// <remarks>
/// Qdrant scores similarities (larger is better) as sigmoid(best positive) or −sigmoid(best negative). The order here
/// is the same, on smaller-is-closer distances: <c>g(dp)</c> when dp &lt; dn, else <c>Offset − g(dn)</c>, where
/// g(x) = x within [−1, 1] and sign(x)·(1 + ln |x|) beyond (continuous, increasing, exact for small distances)
/// is within ±90 for every float, so each side keeps its order and every
/// "nearer a positive" score (below 90) comes before every other (above 210). Not Qdrant's sigmoid: x / (1 + |x|) is
/// within a float's step of 1 for the squared L2 distances of raw pixels (10⁶ on Fashion-MNIST), where it made most
/// scores equal and best-score recall@10 stop at 0.94 (`ann-bench recommend`); the logarithm keeps a relative step of
/// about 10⁻⁶. The value is a score, not a distance: it is what a hit's distance carries, and what shards' answers are
/// merged on (every shard scores with the same examples).
/// </remarks>
public static class BestScore
{
    /// <summary>Added to the second kind's scores: above every first-kind score (|g| ≤ 89.8 for every float).</summary>
    public const float Offset = 300f;

    /// <summary>The score of a point whose nearest positive example is at <paramref name="bestPositive"/> and nearest
    /// negative one at <paramref name="bestNegative"/> (+∞ without negatives).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Combine(float bestPositive, float bestNegative) =>
        bestPositive < bestNegative ? Compress(bestPositive) : Offset - Compress(bestNegative);

    /// <summary>Maps any distance increasingly into [−90, 90]; ±∞ to the ends.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Compress(float distance)
    {
        float magnitude = MathF.Abs(distance);
        if (magnitude <= 1f) return distance;
        if (float.IsInfinity(magnitude)) return distance > 0 ? 90f : -90f;
        float compressed = 1f + MathF.Log(magnitude);
        return distance < 0 ? -compressed : compressed;
    }
}
