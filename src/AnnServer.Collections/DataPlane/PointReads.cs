namespace AnnServer.Collections;

/// <summary>A Get's ids read from one collection on this node: Get on a local collection and a shard replica's part of
/// a cluster Get. Points come in the order of the ids (an id given twice comes twice), ids the collection does not hold
/// go to the missing ids in the same order; the call's cancellation is checked between ids.</summary>
public static class PointReads
{
    /// <param name="maxAnswerBytes">The answer's bound. The ids were checked against it at the edge at the least a point
    /// can weigh; points with many labels weigh more, so the answer is also measured as it grows
    /// (<see cref="GetAnswerSize"/>).</param>
    /// <exception cref="GetAnswerTooLargeException">the answer grew over <paramref name="maxAnswerBytes"/>.</exception>
    public static PointsResult Read(Collection collection, IReadOnlyList<long> ids, long maxAnswerBytes, CancellationToken ct)
    {
        var points = new List<StoredPoint>(ids.Count);
        var missing = new List<long>();
        long answerBytes = 0;
        int dimension = collection.Dimension;
        for (int i = 0; i < ids.Count; i++)
        {
            ct.ThrowIfCancellationRequested();
            long id = ids[i];
            var vector = new float[dimension];
            if (!collection.TryGet(id, vector, out int[] labels))
            {
                missing.Add(id);
                continue;
            }
            answerBytes += GetAnswerSize.Bytes(dimension, labels.Length);
            if (answerBytes > maxAnswerBytes)
                throw new GetAnswerTooLargeException(maxAnswerBytes, points.Count + 1, ids.Count);
            points.Add(new StoredPoint(id, vector, labels));
        }
        return new PointsResult(points, missing);
    }
}
