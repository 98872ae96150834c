using System.Numerics;
using AnnServer.Collections;
using Grpc.Core;

namespace AnnServer.Services;

/// <summary>
/// The checks every request passes before it touches a collection. Each failure is an <see cref="RpcException"/> with
/// INVALID_ARGUMENT and a message that names the field and says what was expected.
/// </summary>
internal static class RequestValidation
{
    public static void CollectionName(string name, string field = "collection")
    {
        if (Collections.CollectionName.Problem(name) is { } problem)
            throw Invalid($"{field} {problem}");
    }

    /// <summary>Checks k and the optional ef against the limits, and returns the ef to use.</summary>
    public static int SearchParameters(int k, bool hasEf, int ef, Settings.LimitOptions limits)
    {
        if (k < 1)
            throw Invalid($"k must be at least 1, got {k}");
        if (k > limits.MaxK)
            throw Invalid($"k must be at most {limits.MaxK} (the server's --max-k), got {k}");
        if (!hasEf)
            return Math.Max(k, limits.DefaultEf);
        if (ef < k)
            throw Invalid($"ef ({ef}) must be at least k ({k})");
        if (ef > limits.MaxEf)
            throw Invalid($"ef must be at most {limits.MaxEf} (the server's --max-ef), got {ef}");
        return ef;
    }

    public static void NotEmpty(int count, string field)
    {
        if (count == 0)
            throw Invalid($"{field} is empty");
    }

    public static void BatchSize(int count, Settings.LimitOptions limits)
    {
        NotEmpty(count, "queries");
        if (count > limits.MaxBatchQueries)
            throw Invalid($"queries has {count} entries, at most {limits.MaxBatchQueries} are allowed (the server's --max-batch-queries)");
    }

    /// <summary>
    /// A Get's ids: at least one, at most --max-get-ids, and few enough that the answer (a vector per id) stays within
    /// --max-message-bytes: the answer is built whole in memory, so an unbounded Get could take the server down.
    /// </summary>
    public static void GetIds(int count, int dimension, Settings.LimitOptions limits)
    {
        NotEmpty(count, "ids");
        if (count > limits.MaxGetIds)
            throw Invalid($"ids has {count} entries, at most {limits.MaxGetIds} are allowed (the server's --max-get-ids)");
        long answerBytes = (long)count * GetAnswerSize.LeastBytesPerPoint(dimension);
        if (answerBytes > limits.MaxMessageBytes)
        {
            throw Invalid($"a Get of {count} ids of dimension {dimension} would answer about {answerBytes} bytes, more than the " +
                          $"server's --max-message-bytes ({limits.MaxMessageBytes}): ask for at most " +
                          $"{limits.MaxMessageBytes / GetAnswerSize.LeastBytesPerPoint(dimension)} ids at a time");
        }
    }

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

    /// <summary>A vector must have exactly the collection's dimension, finite components, and a squared norm of at most
    /// <see cref="MaxSquaredNorm"/>. <paramref name="field"/> with <paramref name="index"/> ≥ 0 names
    /// "field[index].vector", else "field".</summary>
    public static void Vector(ReadOnlySpan<float> vector, IVectorCollection collection, string field, int index = -1) =>
        Vector(vector, collection.Name, collection.Dimension, field, index);

    /// <summary>As above, for a collection known by its name and dimension (a cluster collection has no local object).</summary>
    public static void Vector(ReadOnlySpan<float> vector, string collectionName, int dimension, string field, int index = -1)
    {
        if (vector.Length != dimension)
        {
            throw Invalid(vector.Length == 0
                ? $"{Name(field, index)} is empty: collection '{collectionName}' expects {dimension} components"
                : $"{Name(field, index)} has {vector.Length} components, but collection '{collectionName}' has dimension {dimension}");
        }
        // One pass for both checks: in double, the squares of float32 values cannot overflow, so the sum is finite unless
        // a component is NaN or infinite, and only then is the vector searched for the culprit.
        double squaredNorm = SquaredNorm(vector);
        if (!double.IsFinite(squaredNorm))
        {
            int bad = FirstNonFinite(vector);
            throw Invalid($"{Name(field, index)}[{bad}] is {(float.IsNaN(vector[bad]) ? "NaN" : "infinite")}: components must be finite");
        }
        if (squaredNorm > MaxSquaredNorm)
        {
            throw Invalid($"{Name(field, index)} has squared norm {squaredNorm:0.###e+0}, more than the limit of 1e36 (a norm of " +
                          "at most 1e18), so that every distance and dot product between two vectors stays finite in float32");
        }
    }

    /// <summary>Σ x², summed in double: NaN or infinite only when a component is.</summary>
    internal static double SquaredNorm(ReadOnlySpan<float> values)
    {
        int i = 0;
        double sum = 0;
        if (System.Numerics.Vector.IsHardwareAccelerated && values.Length >= Vector<float>.Count)
        {
            Vector<double> low = Vector<double>.Zero, high = Vector<double>.Zero;
            for (; i <= values.Length - Vector<float>.Count; i += Vector<float>.Count)
            {
                System.Numerics.Vector.Widen(new Vector<float>(values[i..]), out Vector<double> a, out Vector<double> b);
                low += a * a;
                high += b * b;
            }
            sum = System.Numerics.Vector.Sum(low + high);
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
        if (System.Numerics.Vector.IsHardwareAccelerated)
        {
            for (; i <= values.Length - Vector<float>.Count; i += Vector<float>.Count)
            {
                var x = new Vector<float>(values[i..]);
                if (!System.Numerics.Vector.EqualsAll(x - x, Vector<float>.Zero)) break;
            }
        }
        for (; i < values.Length; i++)
            if (!float.IsFinite(values[i])) return i;
        return -1;
    }

    public static RpcException Invalid(string message) => new(new Status(StatusCode.InvalidArgument, message));

    private static string Name(string field, int index) => index < 0 ? field : $"{field}[{index}].vector";
}
