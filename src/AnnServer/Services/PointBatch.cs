using AnnServer.Collections;
using AnnServer.Protocol.V1;
using Google.Protobuf.Collections;

namespace AnnServer.Services;

/// <summary>An Upsert's points as one <see cref="UpsertBatch"/>, for a local or a cluster collection alike.</summary>
internal static class PointBatch
{
    /// <summary>Validates and copies every point before any is applied, so a bad point rejects the whole batch unchanged.</summary>
    public static UpsertBatch Read(RepeatedField<Point> points, string collectionName, int dimension, int maxPayloadBytes)
    {
        int count = points.Count;
        var ids = new long[count];
        var vectors = new float[count * dimension];
        var labels = new int[]?[count];
        Core.Payloads.Payload?[]? payloads = null;
        for (int i = 0; i < count; i++)
        {
            Point point = points[i];
            ReadOnlySpan<float> vector = PackedFloats.AsSpan(point.Vector);
            RequestValidation.Vector(vector, collectionName, dimension, "points", i);
            vector.CopyTo(vectors.AsSpan(i * dimension, dimension));
            ids[i] = point.Id;
            labels[i] = point.Labels.Count > 0 ? [.. point.Labels] : null;
            if (point.Payload.Count > 0)
                (payloads ??= new Core.Payloads.Payload?[count])[i] = PayloadMapping.ToPayload(point.Payload, $"points[{i}].payload", maxPayloadBytes);
        }
        return new UpsertBatch(dimension, ids, vectors, labels, payloads);
    }
}
