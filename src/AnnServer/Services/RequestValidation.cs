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

    /// <summary>What a SearchBatch holds in the server per hit until it is answered: the hit (16 bytes) and its Hit
    /// message (about 48), measured with bench/AnnServer.Benchmarks' alloc run.</summary>
    public const int HeldBytesPerHit = 64;

    /// <summary>
    /// A SearchBatch holds its queries (4·dimension bytes each) and k hits per query (<see cref="HeldBytesPerHit"/>, and
    /// a vector each with with_vector) until its answer is sent; --max-message-bytes bounds that too, as it bounds the
    /// request, so that one batch cannot take much more of the server's memory than its largest request. (Payloads
    /// asked for are on top: each is at most --max-payload-bytes.) A SearchStream message of several searches is held to the
    /// same bound (SearchStreamCall), and a stream to --max-stream-messages such messages.
    /// </summary>
    public static void BatchHeldBytes(int queries, int k, int dimension, bool withVector, Settings.LimitOptions limits)
    {
        long perHit = HeldBytesPerHit + (withVector ? 4L * dimension : 0);
        long bytes = queries * HeldBytes(k, dimension, withVector);
        if (bytes > limits.MaxMessageBytes)
        {
            throw new RpcException(new Status(StatusCode.ResourceExhausted,
                $"a SearchBatch of {queries} queries of dimension {dimension} with k = {k}{(withVector ? " and with_vector" : "")} would hold " +
                $"about {bytes} bytes in the server ({4L * dimension} a query, {perHit} a hit), more than its --max-message-bytes " +
                $"({limits.MaxMessageBytes}): send at most {limits.MaxMessageBytes / HeldBytes(k, dimension, withVector)} queries a batch, or a smaller k"));
        }
    }

    /// <summary>What one query of a batch, or one search of a SearchStream message, holds in the server until it is
    /// answered (<see cref="BatchHeldBytes"/>); k below 0, refused later, counts as 0.</summary>
    public static long HeldBytes(int k, int dimension, bool withVector) =>
        4L * dimension + Math.Max(0, k) * (HeldBytesPerHit + (withVector ? 4L * dimension : 0));

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

    /// <summary>The ids of a payload write: at least one, at most --max-get-ids (the bound on ids per request that reads
    /// them one by one).</summary>
    public static void PayloadWriteIds(int count, Settings.LimitOptions limits)
    {
        NotEmpty(count, "ids");
        if (count > limits.MaxGetIds)
            throw Invalid($"ids has {count} entries, at most {limits.MaxGetIds} are allowed (the server's --max-get-ids)");
    }

    /// <summary>A Scroll's page size: 1 to the smaller of <see cref="Core.HnswIndex.MaxScrollLimit"/> and --max-get-ids.</summary>
    public static int ScrollLimit(uint limit, Settings.LimitOptions limits)
    {
        int max = Math.Min(Core.HnswIndex.MaxScrollLimit, limits.MaxGetIds);
        if (limit < 1 || limit > max)
            throw Invalid($"limit must be between 1 and {max} (the smaller of {Core.HnswIndex.MaxScrollLimit} and the server's --max-get-ids), got {limit}");
        return (int)limit;
    }

    /// <summary>A vector must have exactly the collection's dimension, finite components, and a squared norm of at most
    /// <see cref="CollectionVector.MaxSquaredNorm"/> (<see cref="CollectionVector.Problem"/>). <paramref name="field"/> with
    /// <paramref name="index"/> ≥ 0 names "field[index].vector", else "field".</summary>
    public static void Vector(ReadOnlySpan<float> vector, IVectorCollection collection, string field, int index = -1) =>
        Vector(vector, collection.Name, collection.Dimension, field, index);

    /// <summary>As above, for a collection known by its name and dimension (a cluster collection has no local object).</summary>
    public static void Vector(ReadOnlySpan<float> vector, string collectionName, int dimension, string field, int index = -1)
    {
        if (CollectionVector.Problem(vector, collectionName, dimension, field, index) is { } problem)
            throw Invalid(problem);
    }

    public static RpcException Invalid(string message) => new(new Status(StatusCode.InvalidArgument, message));
}
