using AnnServer.Collections;
using AnnServer.Core.Grouping;
using Google.Protobuf.Collections;
using ProtoGroupBy = AnnServer.Protocol.V1.GroupBy;
using ProtoHitGroup = AnnServer.Protocol.V1.HitGroup;

namespace AnnServer.Services;

/// <summary>group_by of Search and Recommend onto <see cref="GroupBy"/>, and the groups back to messages.</summary>
internal static class GroupMapping
{
    /// <summary>The request's grouping, its limits checked here so the message names the request's fields.</summary>
    public static GroupBy ToGroupBy(ProtoGroupBy groupBy)
    {
        if (string.IsNullOrEmpty(groupBy.Field))
            throw RequestValidation.Invalid("group_by.field is empty: name a keyword or int payload field");
        if (groupBy.GroupSize < 1)
            throw RequestValidation.Invalid($"group_by.group_size must be at least 1, got {groupBy.GroupSize}");
        if (groupBy.Groups < 1)
            throw RequestValidation.Invalid($"group_by.groups must be at least 1, got {groupBy.Groups}");
        long hits = (long)groupBy.Groups * groupBy.GroupSize;
        if (hits > GroupBy.MaxHits)
            throw RequestValidation.Invalid(
                $"group_by.groups × group_by.group_size is {hits}, more than the limit of {GroupBy.MaxHits} hits in a grouped answer");
        return new GroupBy(groupBy.Field, groupBy.GroupSize, groupBy.Groups);
    }

    /// <summary>The groups as messages, each hit with what it carries (<paramref name="data"/>, numbered as
    /// <see cref="GroupedSearchResult"/> numbers them).</summary>
    public static void AddGroups(RepeatedField<ProtoHitGroup> target, IReadOnlyList<HitGroup> groups, HitMessages? data)
    {
        int firstHit = 0;
        foreach (var group in groups)
        {
            var message = new ProtoHitGroup { Key = PayloadMapping.ToProto(group.Key) };
            ProtoMapping.AddHits(message.Hits, group.Hits, data, firstHit);
            firstHit += group.Hits.Length;
            target.Add(message);
        }
    }
}
