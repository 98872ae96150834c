using Google.Protobuf.Collections;

namespace AnnServer.StubServer;

/// <summary>A request's query as a span, by a copy into a per-thread buffer (the stub has no zero-copy reader; the copy
/// is a few hundred nanoseconds against the tens of microseconds of work it feeds).</summary>
internal static class StubQuery
{
    [ThreadStatic] private static float[]? t_buffer;

    public static ReadOnlySpan<float> Of(RepeatedField<float> query)
    {
        if (query.Count == 0) return default;
        float[] buffer = t_buffer is { } held && held.Length >= query.Count ? held : t_buffer = new float[query.Count];
        query.CopyTo(buffer, 0);
        return buffer.AsSpan(0, query.Count);
    }
}
