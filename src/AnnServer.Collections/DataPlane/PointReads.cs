using AnnServer.Core.Payloads;

namespace AnnServer.Collections;

/// <summary>A Get's ids read from one collection on this node: Get on a local collection and a shard replica's part of
/// a cluster Get. Points come in the order of the ids (an id given twice comes twice), ids the collection does not hold
/// go to the missing ids in the same order; the call's cancellation is checked between ids.</summary>
public static class PointReads
{
    /// <param name="maxAnswerBytes">The answer's bound. The ids were checked against it at the edge at the least a point
    /// can weigh; points with many labels or large payloads weigh more, so the answer is also measured as it grows
    /// (<see cref="GetAnswerSize"/>).</param>
    /// <exception cref="GetAnswerTooLargeException">the answer grew over <paramref name="maxAnswerBytes"/>.</exception>
    public static PointsResult Read(Collection collection, IReadOnlyList<long> ids, long maxAnswerBytes, CancellationToken ct) =>
        Read(collection, ids, maxAnswerBytes, PayloadSelection.None, withVector: true, ct);

    /// <summary>As above, each point with the payload fields <paramref name="payload"/> selects and, when
    /// <paramref name="withVector"/>, its vector.</summary>
    public static PointsResult Read(Collection collection, IReadOnlyList<long> ids, long maxAnswerBytes, PayloadSelection payload,
        bool withVector, CancellationToken ct)
    {
        var points = new List<StoredPoint>(ids.Count);
        var missing = new List<long>();
        long answerBytes = 0;
        for (int i = 0; i < ids.Count; i++)
        {
            ct.ThrowIfCancellationRequested();
            long id = ids[i];
            if (ReadPoint(collection, id, payload, withVector) is not { } point)
            {
                missing.Add(id);
                continue;
            }
            answerBytes += GetAnswerSize.Bytes(point);
            if (answerBytes > maxAnswerBytes)
                throw new GetAnswerTooLargeException(maxAnswerBytes, points.Count + 1, ids.Count);
            points.Add(point);
        }
        return new PointsResult(points, missing);
    }

    /// <summary>The point <paramref name="id"/> as selected (its vector empty unless asked); null when it is not held.</summary>
    public static StoredPoint? ReadPoint(Collection collection, long id, PayloadSelection payload, bool withVector)
    {
        var vector = new float[collection.Dimension];
        if (!collection.TryGet(id, vector, out int[] labels)) return null;
        Payload? selected = collection.ReadPayload(id, payload);
        return new StoredPoint(id, withVector ? vector : [], labels, selected);
    }
}
