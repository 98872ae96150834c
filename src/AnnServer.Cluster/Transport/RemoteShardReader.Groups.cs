using AnnServer.Cluster.Routing;
using AnnServer.Cluster.State;
using AnnServer.Collections;
using AnnServer.Core;
using AnnServer.Core.Grouping;
using AnnServer.Protocol.Internal.V1;
using AnnServer.Protocol.V1;
using ProtoGroupBy = AnnServer.Protocol.V1.GroupBy;
using GroupBy = AnnServer.Core.Grouping.GroupBy;
using HitGroup = AnnServer.Core.Grouping.HitGroup;

namespace AnnServer.Cluster.Transport;

public sealed partial class RemoteShardReader
{
    public async Task<IReadOnlyList<HitGroup>> SearchGroupsAsync(NodeEntry node, ShardSearch search, GroupBy groupBy, IHitDataSink? hitData,
        DateTime? deadline, CancellationToken ct)
    {
        ShardSearchRequest request = ToRequest(search);
        request.GroupBy = new ProtoGroupBy { Field = groupBy.Field, GroupSize = groupBy.GroupSize, Groups = groupBy.Groups };
        ShardGroupsResponse response = await CallAsync(() =>
            Client(node).SearchShardGroupsAsync(request, channels.Headers, deadline, ct).ResponseAsync).ConfigureAwait(false);

        var groups = new List<HitGroup>(response.Groups.Count);
        int place = 0;
        foreach (var message in response.Groups)
        {
            var hits = new SearchHit[message.Hits.Count];
            for (int i = 0; i < hits.Length; i++, place++)
            {
                Hit hit = message.Hits[i];
                hits[i] = new SearchHit(hit.Id, hit.Distance);
                if (hitData is not null) CopyHitData(hit, hitData, place);
            }
            groups.Add(new HitGroup(PayloadMessages.ToValue(message.Key), hits));
        }
        return groups;
    }
}
