using AnnServer.Collections;
using AnnServer.Protocol.V1;
using Google.Protobuf.Collections;

namespace AnnServer.Services;

/// <summary>A Get's ids read from one collection: Get on a local collection and GetShard on a shard replica. Points come
/// in the order of the ids (an id given twice comes twice), ids the collection does not hold go to missing_ids in the
/// same order; the call's cancellation is checked between ids.</summary>
internal static class PointLookup
{
    public static GetResponse Run(Collection collection, RepeatedField<long> ids, CancellationToken ct)
    {
        var response = new GetResponse();
        // One buffer of exactly the dimension: RepeatedField copies a whole array in one step (it is an ICollection).
        var vector = new float[collection.Dimension];
        foreach (long id in ids)
        {
            ct.ThrowIfCancellationRequested();
            if (!collection.TryGet(id, vector, out int[] labels))
            {
                response.MissingIds.Add(id);
                continue;
            }
            var point = new Point { Id = id };
            point.Vector.Add(vector);
            point.Labels.Add(labels);
            response.Points.Add(point);
        }
        return response;
    }
}
