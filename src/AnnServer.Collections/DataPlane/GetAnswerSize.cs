namespace AnnServer.Collections;

/// <summary>
/// What a Get's answer weighs on the wire, counted the same way on one server, on a shard replica and on a router: an
/// answer is built whole in memory before it is sent, so it is bounded up front by the id count at the least a point
/// weighs, then measured as it grows (points with many labels weigh more).
/// </summary>
public static class GetAnswerSize
{
    /// <summary>The least a point of a Get answer weighs: its packed float32 vector, its id and the message framing.</summary>
    public static long LeastBytesPerPoint(int dimension) => 4L * dimension + 24;

    /// <summary>What one answered point with <paramref name="labels"/> labels adds (each label up to 5 bytes).</summary>
    public static long Bytes(int dimension, int labels) => LeastBytesPerPoint(dimension) + 5L * labels;
}
