using AnnServer.Core.Filtering;
using AnnServer.Core.Grouping;
using AnnServer.Core.Hnsw;
using AnnServer.Core.Payloads;

namespace AnnServer.Core;

public sealed unsafe partial class HnswIndex
{
    /// <summary>
    /// The nearest points to <paramref name="query"/> grouped by a payload field (<see cref="GroupBy"/>). Grouped inside
    /// the search: the walk runs with ef at least groups × group size, and while the first groups found are not all full
    /// it runs again with ef doubled, up to <see cref="GroupBy.MaxWalkGrowth"/> times the first ef (or <see cref="MaxEf"/>).
    /// Points without the field are left out by the walk's filter, so they cost a filter test, not a slot.
    /// A quantized index ends each walk as <paramref name="quantized"/> says: a walk's results are all re-ranked (the
    /// groups are drawn from all of them, so an oversampling changes nothing), or none.
    /// </summary>
    /// <exception cref="ArgumentException">the query, ef or filter as for a search; group size or groups below 1, or more
    /// than <see cref="GroupBy.MaxHits"/> hits; a field that is neither keyword nor int64.</exception>
    public IReadOnlyList<HitGroup> SearchGroups(ReadOnlySpan<float> query, GroupBy groupBy, int ef, SearchFilter? filter = null,
        QuantizedSearchOptions quantized = default)
    {
        ValidateSearch(query, 1, ef);
        if (GroupColumn(groupBy) is not { } column) return [];
        CompiledFilter? compiled = CompileGroupFilter(filter, column, groupBy);
        if (compiled is { MatchesNothing: true }) return [];
        var context = _contexts.Rent();
        try
        {
            return Group(context, SearchTarget.Query(PrepareQuery(query, context)), column, groupBy, ef, compiled, quantized);
        }
        finally
        {
            _contexts.Return(context);
        }
    }

    /// <summary><see cref="SearchGroups"/> scored by best score against example vectors (<see cref="SearchBestScore"/>).</summary>
    public IReadOnlyList<HitGroup> SearchBestScoreGroups(ReadOnlySpan<float> positives, ReadOnlySpan<float> negatives, GroupBy groupBy,
        int ef, SearchFilter? filter = null)
    {
        ValidateExamples(positives, negatives);
        ValidateSearch(positives[..Dimension], 1, ef);
        if (GroupColumn(groupBy) is not { } column) return [];
        CompiledFilter? compiled = CompileGroupFilter(filter, column, groupBy);
        if (compiled is { MatchesNothing: true }) return [];
        var context = _contexts.Rent();
        try
        {
            return Group(context, PrepareExamples(positives, negatives, context), column, groupBy, ef, compiled, QuantizedSearchOptions.Default);
        }
        finally
        {
            _contexts.Return(context);
        }
    }

    /// <summary>The field's column; null when no point ever had the field (no group can be formed).</summary>
    private PayloadColumn? GroupColumn(GroupBy groupBy)
    {
        ArgumentNullException.ThrowIfNull(groupBy);
        if (groupBy.GroupSize < 1)
            throw new ArgumentException($"group_size must be at least 1, got {groupBy.GroupSize}", nameof(groupBy));
        if (groupBy.Groups < 1)
            throw new ArgumentException($"groups must be at least 1, got {groupBy.Groups}", nameof(groupBy));
        if ((long)groupBy.Groups * groupBy.GroupSize > GroupBy.MaxHits)
            throw new ArgumentException($"groups × group_size is {(long)groupBy.Groups * groupBy.GroupSize}, more than the limit MaxHits ({GroupBy.MaxHits})", nameof(groupBy));
        PayloadColumn? column;
        lock (_mapLock) column = _payloads.Column(groupBy.Field);
        if (column is not null && column.Kind is not (PayloadKind.Keyword or PayloadKind.Int64))
            throw new ArgumentException($"group_by field '{groupBy.Field}' is a {column.Kind} field; only keyword and int fields group", nameof(groupBy));
        return column;
    }

    /// <summary>The request's filter, requiring the field unless every live point has it: then the walk needs no
    /// filter test per node, and the planner none of the filtered strategies (it would scan exactly at a large ef).</summary>
    private CompiledFilter? CompileGroupFilter(SearchFilter? filter, PayloadColumn column, GroupBy groupBy) =>
        column.LivePresent >= Count
            ? CompileFilter(filter)
            : CompileFilter(SearchFilter.AlsoRequiring(filter, Filter.None(new IsEmpty(groupBy.Field))));

    private IReadOnlyList<HitGroup> Group(SearchContext context, SearchTarget target, PayloadColumn column, GroupBy groupBy, int ef,
        CompiledFilter? compiled, QuantizedSearchOptions quantized)
    {
        int walkEf = Math.Min(MaxEf, Math.Max(ef, groupBy.Hits));
        int bound = (int)Math.Min(MaxEf, (long)walkEf * GroupBy.MaxWalkGrowth);
        var groups = new PointGroups(column, groupBy);
        while (true)
        {
            FindBest(context, target, walkEf, walkEf, compiled, quantized);
            int found = DrainAscending(context);
            bool complete = groups.Fill(context.Ordered.AsSpan(0, found));
            // Fewer than ef found: the walk reached every passing point it could; a larger ef finds no more.
            if (complete || found < walkEf || walkEf >= bound) break;
            walkEf = Math.Min(bound, walkEf * 2);
        }
        lock (_mapLock) return groups.ToHitGroups(_storage.Ids);
    }

    /// <summary>Moves the result heap into <c>context.Ordered</c>, best first; returns the count.</summary>
    private static int DrainAscending(SearchContext context)
    {
        DistanceHeap results = context.Results;
        int count = results.Count;
        context.EnsureOrdered(count);
        var ordered = context.Ordered;
        for (int i = count - 1; i >= 0; i--)
        {
            ordered[i] = (results.TopDistance, results.TopNode);
            results.Pop();
        }
        return count;
    }
}
