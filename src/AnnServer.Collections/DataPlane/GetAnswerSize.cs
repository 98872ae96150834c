using AnnServer.Core.Payloads;

namespace AnnServer.Collections;

/// <summary>
/// What a Get's (or a Scroll's) answer weighs on the wire, counted the same way on one server, on a shard replica and on
/// a router: an answer is built whole in memory before it is sent, so it is bounded up front by the id count at the
/// least a point weighs, then measured as it grows (points with many labels or large payloads weigh more).
/// </summary>
public static class GetAnswerSize
{
    /// <summary>The least a point of a Get answer weighs: its packed float32 vector, its id and the message framing.</summary>
    public static long LeastBytesPerPoint(int dimension) => 4L * dimension + 24;

    /// <summary>What one answered point with <paramref name="labels"/> labels adds (each label up to 5 bytes).</summary>
    public static long Bytes(int dimension, int labels) => LeastBytesPerPoint(dimension) + 5L * labels;

    /// <summary>What one answered point adds: its vector (none when not asked), labels and payload.</summary>
    public static long Bytes(StoredPoint point) =>
        Bytes(point.Vector.Length, point.Labels.Length) + (point.Payload is { } payload ? PayloadBytes(payload) : 0);

    /// <summary>An upper bound of a payload's bytes in a message: per field its name and framing, and its value (a
    /// character of a keyword up to 3 bytes of UTF-8, an integer up to 10, a double 8).</summary>
    public static long PayloadBytes(Payload payload)
    {
        long bytes = 0;
        foreach (var (name, value) in payload)
        {
            bytes += 3L * name.Length + 12;
            bytes += value.Kind switch
            {
                PayloadKind.Keyword => 3L * value.AsKeyword().Length,
                PayloadKind.KeywordList => KeywordsBytes(value.AsKeywords()),
                PayloadKind.Int64List => 10L * value.AsInt64s().Count,
                _ => 10,
            };
        }
        return bytes;
    }

    private static long KeywordsBytes(IReadOnlyList<string> keywords)
    {
        long bytes = 0;
        foreach (string keyword in keywords) bytes += 3L * keyword.Length + 3;
        return bytes;
    }
}
