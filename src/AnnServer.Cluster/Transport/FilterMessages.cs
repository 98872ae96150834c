using AnnServer.Core;
using AnnServer.Core.Filtering;
using Condition = AnnServer.Protocol.V1.Condition;
using ProtoFilter = AnnServer.Protocol.V1.Filter;

namespace AnnServer.Cluster.Transport;

/// <summary>
/// A validated <see cref="SearchFilter"/> written back as the request message a replica reads (the inverse of the
/// host's FilterMapping): labels and excluded ids as any_of_labels and excluded_ids, the expression as must / should /
/// must_not, each clause as the condition it was read from, so the replica builds the same filter.
/// </summary>
internal static class FilterMessages
{
    public static ProtoFilter ToProto(SearchFilter filter)
    {
        var message = new ProtoFilter();
        if (filter.AnyOfLabels is { } labels) message.AnyOfLabels.Add(labels);
        if (filter.ExcludedIds is { } excluded) message.ExcludedIds.Add(excluded);
        if (filter.Where is { } where) AddClauses(message, where);
        return message;
    }

    private static void AddClauses(ProtoFilter message, Filter filter)
    {
        foreach (FilterClause clause in filter.Must) message.Must.Add(ToCondition(clause));
        foreach (FilterClause clause in filter.Should) message.Should.Add(ToCondition(clause));
        foreach (FilterClause clause in filter.MustNot) message.MustNot.Add(ToCondition(clause));
    }

    private static Condition ToCondition(FilterClause clause)
    {
        switch (clause)
        {
            case Filter nested:
                var inner = new ProtoFilter();
                AddClauses(inner, nested);
                return new Condition { Filter = inner };
            case KeywordMatch keyword:
                var keywords = new Protocol.V1.KeywordList();
                keywords.Values.Add(keyword.AnyOf);
                return Field(keyword.Field, new Protocol.V1.Match { Keywords = keywords });
            case IntegerMatch integer:
                var integers = new Protocol.V1.IntegerList();
                integers.Values.Add(integer.AnyOf);
                return Field(integer.Field, new Protocol.V1.Match { Integers = integers });
            case BoolMatch boolean:
                return Field(boolean.Field, new Protocol.V1.Match { Boolean = boolean.Value });
            case NumericRange range:
                var bounds = new Protocol.V1.NumericRange();
                if (range.Gt is { } gt) bounds.Gt = gt;
                if (range.Gte is { } gte) bounds.Gte = gte;
                if (range.Lt is { } lt) bounds.Lt = lt;
                if (range.Lte is { } lte) bounds.Lte = lte;
                return new Condition { Field = new Protocol.V1.FieldCondition { Key = range.Field, Range = bounds } };
            case IsNull isNull:
                return new Condition { IsNull = new Protocol.V1.IsNullCondition { Key = isNull.Field } };
            case IsEmpty isEmpty:
                return new Condition { IsEmpty = new Protocol.V1.IsEmptyCondition { Key = isEmpty.Field } };
            case HasId hasId:
                var ids = new Protocol.V1.HasIdCondition();
                ids.Ids.Add(hasId.Ids);
                return new Condition { HasId = ids };
            case LabelMatch labels:
                var anyOf = new Protocol.V1.LabelsCondition();
                anyOf.AnyOf.Add(labels.AnyOf);
                return new Condition { Labels = anyOf };
            case InIdSet inSet:
                return new Condition { IdSet = new Protocol.V1.IdSetCondition { Name = inSet.Name } };
            default:
                throw new ArgumentException($"filter clause {clause.GetType().Name} has no message in ShardService");
        }
    }

    private static Condition Field(string key, Protocol.V1.Match match) =>
        new() { Field = new Protocol.V1.FieldCondition { Key = key, Match = match } };
}
