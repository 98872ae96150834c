using System.Numerics;
using AnnServer.Storage;

namespace AnnServer.Collections;

/// <summary>
/// The rule for a vector a collection holds or is searched with, checked once where the vector enters the process: the
/// server's request edge (<see cref="Problem"/>, which the host turns into INVALID_ARGUMENT naming the field), and log
/// and stream records (<see cref="CheckFinite"/>). The index behind a collection only asserts it.
/// </summary>
public static class CollectionVector
{
    /// <summary>
    /// The largest squared Euclidean norm of a vector, 1e36 (norm 1e18), on every metric. For two such vectors a and b,
    /// |a·b| ≤ |a||b| ≤ 1e36 and |a − b|² ≤ (|a| + |b|)² ≤ 4e36, and so is every partial sum a kernel accumulates (its
    /// terms are a subset's products, bounded the same way by Cauchy-Schwarz); the int8 estimate
    /// s_a²Σa² + s_b²Σb² − 2 s_a s_b (a·b) stays below about 1e37 even with each code rounded by half a step. All of it is
    /// 30 times below float32's largest value, 3.4028235e38, so no distance overflows and no inner product sums +∞ and −∞
    /// into NaN. Cosine normalises every vector (rescaling first when the norm overflows), so its distances would stay
    /// finite anyway; the same bound holds there so that one rule, in one place, covers every collection and a vector
    /// keeps its meaning if it is copied to a collection of another metric. Real embeddings are many orders of magnitude
    /// below it.
    /// </summary>
    public const double MaxSquaredNorm = 1e36;

    /// <summary>Null when <paramref name="vector"/> has exactly <paramref name="dimension"/> finite components and a squared
    /// norm of at most <see cref="MaxSquaredNorm"/>; otherwise a message that names the vector (the request's
    /// <paramref name="field"/>, "field[index].vector" with <paramref name="index"/> ≥ 0) and says what is wrong.</summary>
    public static string? Problem(ReadOnlySpan<float> vector, string collectionName, int dimension, string field, int index = -1)
    {
        if (vector.Length != dimension)
        {
            return vector.Length == 0
                ? $"{Name(field, index)} is empty: collection '{collectionName}' expects {dimension} components"
                : $"{Name(field, index)} has {vector.Length} components, but collection '{collectionName}' has dimension {dimension}";
        }
        // One pass for both checks: in double, the squares of float32 values cannot overflow, so the sum is finite unless
        // a component is NaN or infinite, and only then is the vector searched for the culprit.
        double squaredNorm = SquaredNorm(vector);
        if (!double.IsFinite(squaredNorm))
        {
            int bad = FirstNonFinite(vector);
            return $"{Name(field, index)}[{bad}] is {(float.IsNaN(vector[bad]) ? "NaN" : "infinite")}: components must be finite";
        }
        if (squaredNorm > MaxSquaredNorm)
        {
            return $"{Name(field, index)} has squared norm {squaredNorm:0.###e+0}, more than the limit of 1e36 (a norm of " +
                   "at most 1e18), so that every distance and dot product between two vectors stays finite in float32";
        }
        return null;
    }

    private static string Name(string field, int index) => index < 0 ? field : $"{field}[{index}].vector";

    /// <summary>The finite-value check of an upsert record read from a log (replay, a compaction's catch-up) or a cluster
    /// stream: the one check those vectors get. Their dimension is checked by the same callers, against the collection's.
    /// The norm bound is not: records were written by a server that checked it at its request edge.</summary>
    /// <exception cref="ArgumentException">a vector of the record has a NaN or infinite component.</exception>
    internal static void CheckFinite(LogRecord record, string source)
    {
        float[] vectors = record.Vectors!;
        int dimension = record.Dimension;
        for (int i = 0; i < record.Count; i++)
        {
            if (FirstNonFinite(vectors.AsSpan(i * dimension, dimension)) >= 0)
                throw new ArgumentException($"{source}: point {i} (id {record.Ids[i]}) has a NaN or infinite component", nameof(record));
        }
    }

    /// <summary>Σ x², summed in double: NaN or infinite only when a component is.</summary>
    internal static double SquaredNorm(ReadOnlySpan<float> values)
    {
        int i = 0;
        double sum = 0;
        if (Vector.IsHardwareAccelerated && values.Length >= Vector<float>.Count)
        {
            Vector<double> low = Vector<double>.Zero, high = Vector<double>.Zero;
            for (; i <= values.Length - Vector<float>.Count; i += Vector<float>.Count)
            {
                Vector.Widen(new Vector<float>(values[i..]), out Vector<double> a, out Vector<double> b);
                low += a * a;
                high += b * b;
            }
            sum = Vector.Sum(low + high);
        }
        for (; i < values.Length; i++)
            sum += (double)values[i] * values[i];
        return sum;
    }

    /// <summary>Index of the first NaN or infinite component, or −1. x − x is 0 for a finite x and NaN otherwise, so one
    /// vector compare checks a whole register of components.</summary>
    internal static int FirstNonFinite(ReadOnlySpan<float> values)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            for (; i <= values.Length - Vector<float>.Count; i += Vector<float>.Count)
            {
                var x = new Vector<float>(values[i..]);
                if (!Vector.EqualsAll(x - x, Vector<float>.Zero)) break;
            }
        }
        for (; i < values.Length; i++)
            if (!float.IsFinite(values[i])) return i;
        return -1;
    }
}
