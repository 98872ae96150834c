using AnnServer.Core.Recommend;

namespace AnnServer.Core.Tests.Recommend;

/// <summary>The best-score top-k by brute force in plain C#, independent of the index's kernels and walk.</summary>
internal static class BestScoreReference
{
    public static long[] TopK(float[] data, long[] ids, int dimension, float[] positives, float[] negatives, int k, ISet<long>? excluded = null)
    {
        var scored = new List<(float Score, long Id)>();
        for (int row = 0; row < ids.Length; row++)
        {
            if (excluded is not null && excluded.Contains(ids[row])) continue;
            var point = data.AsSpan(row * dimension, dimension);
            scored.Add((BestScore.Combine(Nearest(point, positives, dimension), Nearest(point, negatives, dimension)), ids[row]));
        }
        scored.Sort();
        return scored.Take(k).Select(s => s.Id).ToArray();
    }

    private static float Nearest(ReadOnlySpan<float> point, float[] examples, int dimension)
    {
        float best = float.PositiveInfinity;
        for (int e = 0; e < examples.Length / dimension; e++)
        {
            float sum = 0;
            for (int d = 0; d < dimension; d++)
            {
                float diff = point[d] - examples[e * dimension + d];
                sum += diff * diff;
            }
            best = Math.Min(best, sum);
        }
        return best;
    }
}
