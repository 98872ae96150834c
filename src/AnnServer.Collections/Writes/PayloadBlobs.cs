using AnnServer.Core.Payloads;
using AnnServer.Storage;

namespace AnnServer.Collections;

/// <summary>
/// Payloads of a write encoded as the log (and a cluster's shard streams) carry them (<see cref="PayloadCodec"/>),
/// checked on the way against the payload limits, before anything is logged or published: a collection's write path
/// and a cluster's writer refuse the same writes with the same messages, naming the point or the request's field.
/// </summary>
public static class PayloadBlobs
{
    /// <summary>Most bytes one payload write may log or publish (its blob once per id): 64 MiB.</summary>
    public const long MaxPayloadWriteBytes = 64L << 20;

    /// <summary>Each point's blob (null for none).</summary>
    public static byte[]?[] OfPoints(Payload?[] payloads, long[] ids)
    {
        var blobs = new byte[]?[payloads.Length];
        for (int i = 0; i < payloads.Length; i++)
            if (payloads[i] is { Count: > 0 } payload) blobs[i] = Encode(payload, PointName(ids, i));
        return blobs;
    }

    /// <summary>The blob of a SetPayload's payload (null when it is empty: a replace that clears), checked against the
    /// bytes the whole write would publish.</summary>
    public static byte[]? OfChange(Payload payload, int ids)
    {
        byte[]? blob = payload.Count == 0 ? null : Encode(payload, "payload");
        CheckWriteBytes(ids, blob);
        return blob;
    }

    /// <summary>The blob of a DeletePayload's field names.</summary>
    public static byte[] OfFieldNames(IReadOnlyList<string> fields, int ids)
    {
        byte[] blob;
        try
        {
            blob = PayloadCodec.EncodeFieldNames(fields);
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"fields: {MessageOf(e)}");
        }
        CheckWriteBytes(ids, blob);
        return blob;
    }

    public static string PointName(long[] ids, int i) => $"points[{i}] (id {ids[i]})";

    private static void CheckWriteBytes(int ids, byte[]? blob)
    {
        long bytes = (long)ids * (blob?.Length ?? 0);
        if (bytes > MaxPayloadWriteBytes)
            throw new LimitExceededException(
                $"this payload write would log {bytes} bytes ({ids} ids × {blob!.Length} bytes of payload), more than the limit of " +
                $"{MaxPayloadWriteBytes} bytes per payload write: write fewer ids at a time");
    }

    private static byte[] Encode(Payload payload, string where)
    {
        byte[] blob;
        try
        {
            blob = PayloadCodec.Encode(payload);
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"{where}: {MessageOf(e)}");
        }
        if (blob.Length > LogRecord.MaxPayloadBytes)
            throw new LimitExceededException(
                $"{where}: the payload is {blob.Length} bytes encoded, more than the limit of {LogRecord.MaxPayloadBytes} bytes per point");
        return blob;
    }

    /// <summary>An ArgumentException's message without the " (Parameter 'x')" the runtime appends.</summary>
    private static string MessageOf(ArgumentException e) =>
        e.ParamName is null ? e.Message : e.Message.Replace($" (Parameter '{e.ParamName}')", "", StringComparison.Ordinal);
}
