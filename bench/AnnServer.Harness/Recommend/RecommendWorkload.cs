using AnnServer.Core;
using AnnServer.Datasets;

namespace AnnServer.Harness.Recommend;

/// <summary>
/// The queries of `ann-bench recommend`, one per test image, all made from seeded random picks so every run asks the same:
/// a recommendation's examples are two training images of one class (positives) and one of another class (negative),
/// "more like these two, less like that one"; a grouped search is the test image itself, grouped by class.
/// </summary>
public sealed class RecommendWorkload
{
    private RecommendWorkload(long[][] positives, long[][] negatives, float[][] positiveVectors, float[][] negativeVectors,
        float[][] averages, SearchFilter[] exclusions)
    {
        Positives = positives;
        Negatives = negatives;
        PositiveVectors = positiveVectors;
        NegativeVectors = negativeVectors;
        Averages = averages;
        Exclusions = exclusions;
    }

    public long[][] Positives { get; }
    public long[][] Negatives { get; }

    /// <summary>Each query's positive vectors laid end to end, and its negatives: what the best-score search takes.</summary>
    public float[][] PositiveVectors { get; }
    public float[][] NegativeVectors { get; }

    /// <summary>Each query's average-vector target: avg_pos + (avg_pos − avg_neg).</summary>
    public float[][] Averages { get; }

    /// <summary>Each query's examples as excluded ids: a recommendation never returns its examples.</summary>
    public SearchFilter[] Exclusions { get; }

    public static RecommendWorkload Make(VectorSet baseVectors, byte[] classes, int queries, int seed = 23)
    {
        var byClass = Enumerable.Range(0, 10).Select(c => Enumerable.Range(0, classes.Length).Where(i => classes[i] == c).ToArray()).ToArray();
        var random = new Random(seed);
        int dimension = baseVectors.Dimension;
        var positives = new long[queries][];
        var negatives = new long[queries][];
        var positiveVectors = new float[queries][];
        var negativeVectors = new float[queries][];
        var averages = new float[queries][];
        var exclusions = new SearchFilter[queries];
        for (int q = 0; q < queries; q++)
        {
            int liked = random.Next(10), disliked = (liked + 1 + random.Next(9)) % 10;
            int[] likedRows = byClass[liked], dislikedRows = byClass[disliked];
            if (likedRows.Length < 2 || dislikedRows.Length < 1)
                throw new InvalidDataException($"the base has too few images of classes {liked} and {disliked} for the workload");
            int a = likedRows[random.Next(likedRows.Length)], b = likedRows[random.Next(likedRows.Length)], n = dislikedRows[random.Next(dislikedRows.Length)];
            positives[q] = [a, b];
            negatives[q] = [n];
            positiveVectors[q] = [.. baseVectors.Row(a), .. baseVectors.Row(b)];
            negativeVectors[q] = baseVectors.Row(n).ToArray();
            var average = new float[dimension];
            for (int d = 0; d < dimension; d++)
                average[d] = (baseVectors.Row(a)[d] + baseVectors.Row(b)[d]) - baseVectors.Row(n)[d];
            averages[q] = average;
            exclusions[q] = new SearchFilter(excludedIds: [a, b, n]);
        }
        return new RecommendWorkload(positives, negatives, positiveVectors, negativeVectors, averages, exclusions);
    }
}
