using AnnServer.Core;
using AnnServer.Core.Filtering;
using Google.Protobuf.Collections;
using Condition = AnnServer.Protocol.V1.Condition;
using ProtoFilter = AnnServer.Protocol.V1.Filter;

namespace AnnServer.Services;

/// <summary>
/// A request's <see cref="ProtoFilter"/> as the engine's <see cref="SearchFilter"/>: any_of_labels and excluded_ids as
/// before (a filter with only those is built exactly as before payloads existed), must / should / must_not as its
/// <see cref="SearchFilter.Where"/> expression. The shape is checked here, each problem named by its path in the request
/// (<c>filter.must[1].field.range</c>); what depends on the collection (a match of the wrong kind for its field) is the
/// engine's compiler's to refuse.
/// </summary>
internal static class FilterMapping
{
    /// <summary>Null (no filtering, and no allocation) when the request has no filter or an empty one.</summary>
    public static SearchFilter? ToSearchFilter(ProtoFilter? filter, string path = "filter")
    {
        if (filter is null) return null;
        bool hasExpression = filter.Must.Count + filter.Should.Count + filter.MustNot.Count > 0;
        if (!hasExpression && filter.AnyOfLabels.Count == 0 && filter.ExcludedIds.Count == 0)
            return null;
        var searchFilter = new SearchFilter(
            filter.AnyOfLabels.Count > 0 ? filter.AnyOfLabels : null,
            filter.ExcludedIds.Count > 0 ? filter.ExcludedIds : null);
        if (!hasExpression) return searchFilter;
        int conditions = 0;
        Filter where = ToExpression(filter, path, depth: 1, ref conditions, includeLegacy: false);
        return new SearchFilter(searchFilter.AnyOfLabels, searchFilter.ExcludedIds) { Where = where };
    }

    private static Filter ToExpression(ProtoFilter filter, string path, int depth, ref int conditions, bool includeLegacy)
    {
        if (depth > FilterLimits.MaxDepth)
            throw RequestValidation.Invalid($"{path} nests filters {depth} deep, more than the limit of {FilterLimits.MaxDepth}");
        var must = new List<FilterClause>(filter.Must.Count + 1);
        var mustNot = new List<FilterClause>(filter.MustNot.Count + 1);
        if (includeLegacy && filter.AnyOfLabels.Count > 0)
        {
            CountCondition(ref conditions, path);
            must.Add(new LabelMatch([.. filter.AnyOfLabels]));
        }
        if (includeLegacy && filter.ExcludedIds.Count > 0)
        {
            CountCondition(ref conditions, path);
            mustNot.Add(new HasId([.. filter.ExcludedIds]));
        }
        AddClauses(must, filter.Must, $"{path}.must", depth, ref conditions);
        var should = new List<FilterClause>(filter.Should.Count);
        AddClauses(should, filter.Should, $"{path}.should", depth, ref conditions);
        AddClauses(mustNot, filter.MustNot, $"{path}.must_not", depth, ref conditions);
        return new Filter(must, should, mustNot);
    }

    private static void AddClauses(List<FilterClause> target, RepeatedField<Condition> conditions, string path, int depth, ref int count)
    {
        for (int i = 0; i < conditions.Count; i++)
            target.Add(ToClause(conditions[i], $"{path}[{i}]", depth, ref count));
    }

    private static FilterClause ToClause(Condition condition, string path, int depth, ref int count)
    {
        if (condition.ConditionCase == Condition.ConditionOneofCase.Filter)
            return ToExpression(condition.Filter, $"{path}.filter", depth + 1, ref count, includeLegacy: true);
        CountCondition(ref count, path);
        switch (condition.ConditionCase)
        {
            case Condition.ConditionOneofCase.Field:
                return ToFieldClause(condition.Field, $"{path}.field");
            case Condition.ConditionOneofCase.IsNull:
                return new IsNull(Key(condition.IsNull.Key, $"{path}.is_null.key"));
            case Condition.ConditionOneofCase.IsEmpty:
                return new IsEmpty(Key(condition.IsEmpty.Key, $"{path}.is_empty.key"));
            case Condition.ConditionOneofCase.HasId:
                Values(condition.HasId.Ids.Count, $"{path}.has_id.ids");
                return new HasId([.. condition.HasId.Ids]);
            case Condition.ConditionOneofCase.Labels:
                Values(condition.Labels.AnyOf.Count, $"{path}.labels.any_of");
                return new LabelMatch([.. condition.Labels.AnyOf]);
            case Condition.ConditionOneofCase.IdSet:
                return new InIdSet(IdSetName(condition.IdSet.Name, $"{path}.id_set.name"));
            default:
                throw RequestValidation.Invalid($"{path} is empty: set one of field, is_null, is_empty, has_id, filter, labels, id_set");
        }
    }

    private static string IdSetName(string name, string path)
    {
        try
        {
            Collections.IdSetName.Validate(name, path);
        }
        catch (ArgumentException e)
        {
            throw RequestValidation.Invalid(e.Message.Replace($" (Parameter '{path}')", "", StringComparison.Ordinal));
        }
        return name;
    }

    private static FilterClause ToFieldClause(Protocol.V1.FieldCondition field, string path)
    {
        string key = Key(field.Key, $"{path}.key");
        if (field.Match is not null && field.Range is not null)
            throw RequestValidation.Invalid($"{path} sets both match and range: give one (two conditions under must for both)");
        if (field.Match is { } match)
        {
            string at = $"{path}.match";
            switch (match.ValueCase)
            {
                case Protocol.V1.Match.ValueOneofCase.Keyword:
                    Keyword(match.Keyword, $"{at}.keyword");
                    return new KeywordMatch(key, match.Keyword);
                case Protocol.V1.Match.ValueOneofCase.Keywords:
                    RepeatedField<string> keywords = match.Keywords.Values;
                    Values(keywords.Count, $"{at}.keywords.values");
                    for (int i = 0; i < keywords.Count; i++) Keyword(keywords[i], $"{at}.keywords.values[{i}]");
                    return new KeywordMatch(key, [.. keywords]);
                case Protocol.V1.Match.ValueOneofCase.Integer:
                    return new IntegerMatch(key, match.Integer);
                case Protocol.V1.Match.ValueOneofCase.Integers:
                    Values(match.Integers.Values.Count, $"{at}.integers.values");
                    return new IntegerMatch(key, [.. match.Integers.Values]);
                case Protocol.V1.Match.ValueOneofCase.Boolean:
                    return new BoolMatch(key, match.Boolean);
                default:
                    throw RequestValidation.Invalid($"{at} has no value: set one of keyword, keywords, integer, integers, boolean");
            }
        }
        if (field.Range is { } range)
        {
            string at = $"{path}.range";
            if (!range.HasGt && !range.HasGte && !range.HasLt && !range.HasLte)
                throw RequestValidation.Invalid($"{at} has no bound: set at least one of gt, gte, lt, lte");
            return new NumericRange(key)
            {
                Gt = range.HasGt ? Bound(range.Gt, $"{at}.gt") : null,
                Gte = range.HasGte ? Bound(range.Gte, $"{at}.gte") : null,
                Lt = range.HasLt ? Bound(range.Lt, $"{at}.lt") : null,
                Lte = range.HasLte ? Bound(range.Lte, $"{at}.lte") : null,
            };
        }
        throw RequestValidation.Invalid($"{path} has neither match nor range: give one");
    }

    private static void CountCondition(ref int count, string path)
    {
        if (++count > FilterLimits.MaxConditions)
            throw RequestValidation.Invalid(
                $"{path} is condition {count} of the filter, more than the limit of {FilterLimits.MaxConditions} conditions per filter");
    }

    private static string Key(string key, string path) =>
        key.Length > 0 ? key : throw RequestValidation.Invalid($"{path} is empty: name the payload field");

    private static void Values(int count, string path)
    {
        if (count == 0) throw RequestValidation.Invalid($"{path} is empty: give at least one value");
        if (count > FilterLimits.MaxValuesPerCondition)
            throw RequestValidation.Invalid($"{path} has {count} values, more than the limit of {FilterLimits.MaxValuesPerCondition} per condition");
    }

    private static void Keyword(string keyword, string path)
    {
        if (keyword.Length > FilterLimits.MaxKeywordLength)
            throw RequestValidation.Invalid(
                $"{path} has {keyword.Length} characters, more than the limit of {FilterLimits.MaxKeywordLength} per keyword");
    }

    private static double Bound(double bound, string path) =>
        double.IsNaN(bound) ? throw RequestValidation.Invalid($"{path} is NaN") : bound;
}
