using AnnServer.Core;

namespace AnnServer.Harness.Recall;

/// <summary>
/// Distances recomputed in float64 for judging recall, never for timing. float64 keeps integer-valued data (MNIST
/// pixels) exact, so genuinely tied points compare equal whichever system or kernel found them.
/// </summary>
public static class ExactDistance
{
    /// <summary>Distance as <see cref="DistanceMetric"/> defines it: squared L2, or 1 − a·b (cosine on normalised vectors).</summary>
    public static double Compute(DistanceMetric metric, ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        if (a.Length != b.Length) throw new ArgumentException($"dimensions differ: {a.Length} and {b.Length}");
        switch (metric)
        {
            case DistanceMetric.L2:
            {
                double sum = 0;
                for (int i = 0; i < a.Length; i++)
                {
                    double d = (double)a[i] - b[i];
                    sum += d * d;
                }
                return sum;
            }
            case DistanceMetric.InnerProduct:
                return 1.0 - Dot(a, b);
            case DistanceMetric.Cosine:
            {
                double na = Math.Sqrt(Dot(a, a)), nb = Math.Sqrt(Dot(b, b));
                if (na == 0 || nb == 0) return 1.0;
                return 1.0 - Dot(a, b) / (na * nb);
            }
            default:
                throw new ArgumentOutOfRangeException(nameof(metric), metric, "unknown metric");
        }
    }

    private static double Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double sum = 0;
        for (int i = 0; i < a.Length; i++) sum += (double)a[i] * b[i];
        return sum;
    }
}
