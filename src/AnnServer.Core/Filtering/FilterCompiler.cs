using AnnServer.Core.Hnsw;
using AnnServer.Core.Payloads;
using AnnServer.Core.Storage;

namespace AnnServer.Core.Filtering;

/// <summary>
/// Turns a request's <see cref="SearchFilter"/> (labels, excluded ids and the <see cref="Filter"/> expression) into a
/// <see cref="CompiledFilter"/> against the index's columns, with the planner's estimate of how many live points pass.
/// Runs under the index's map lock (it reads the keyword dictionaries and the counts); once per request.
/// </summary>
/// <remarks>
/// Estimates assume conditions independent: a must multiplies selectivities, a should combines them as
/// 1 − Π(1 − s), a must_not takes 1 − s. Per condition: keyword and label matches sum their values' live counts, integer
/// matches their exact counts (or the histogram past <see cref="NumericStatistics.MaxExactValues"/> distinct values),
/// ranges read the field's histogram, bools their true count, nulls and empties the field's present counts, ids count
/// themselves.
/// </remarks>
internal sealed class FilterCompiler
{
    private readonly PayloadStore _payloads;
    private readonly IReadOnlyDictionary<int, int> _liveCountByLabel;
    private readonly double _live;
    private readonly List<CompiledCondition> _program = [];
    private readonly Dictionary<string, IdSet> _idSets = new(StringComparer.Ordinal);
    private readonly GraphStorage? _storage;
    private readonly NodeIdMap? _nodeById;
    private bool _useRangeIndexes = true;

    private FilterCompiler(PayloadStore payloads, IReadOnlyDictionary<int, int> liveCountByLabel, int liveCount,
        GraphStorage? storage = null, NodeIdMap? nodeById = null)
    {
        _storage = storage;
        _nodeById = nodeById;
        _payloads = payloads;
        _liveCountByLabel = liveCountByLabel;
        _live = Math.Max(1, liveCount);
    }

    /// <exception cref="ArgumentException">the expression breaks a limit of <see cref="FilterLimits"/>, names no field,
    /// or asks a field for a kind of match its kind cannot answer (the message names the field).</exception>
    public static CompiledFilter Compile(SearchFilter filter, GraphStorage storage, PayloadStore payloads,
        IReadOnlyDictionary<int, int> liveCountByLabel, int liveCount, NodeIdMap? nodeById = null,
        IReadOnlyDictionary<int, NodePostings>? nodesByLabel = null, bool useRangeIndexes = true)
    {
        if (filter.Where is not null) Validate(filter.Where);
        var compiler = new FilterCompiler(payloads, liveCountByLabel, liveCount, storage, nodeById) { _useRangeIndexes = useRangeIndexes };
        if (filter.Where is not null) compiler.FindIdSets(filter.Where, filter.IdSets);

        // The labels and excluded ids of a SearchFilter are the conditions the filter language has for them, and the
        // expression is one more must: one compiled form for every caller.
        var must = new List<FilterClause>();
        if (filter.AnyOfLabels is { } labels) must.Add(new LabelMatch([.. labels]));
        if (filter.Where is not null) must.Add(filter.Where);
        var mustNot = new List<FilterClause>();
        if (filter.ExcludedIds is { } excluded) mustNot.Add(new HasId([.. excluded]));

        var root = new Filter(must, mustNot: mustNot);
        double selectivity = compiler.Estimate(root);
        int entry = compiler.Emit(root, CompiledCondition.Accept, CompiledCondition.Reject);
        var candidates = compiler.Candidates(root, nodeById, nodesByLabel, out string? keywordField);
        return new CompiledFilter([.. compiler._program], entry, storage, selectivity * liveCount, candidates, filter.AlsoExcluded, keywordField);
    }

    /// <summary>
    /// The smallest candidate lists of a condition every passing node must meet (one reached from the top through musts
    /// only): a keyword or label match's postings, or the nodes of has-id's ids. Null when there is none.
    /// </summary>
    private CandidateList[]? Candidates(Filter root, NodeIdMap? nodeById,
        IReadOnlyDictionary<int, NodePostings>? nodesByLabel, out string? keywordField)
    {
        CandidateList[]? best = null;
        keywordField = null;
        long bestCount = long.MaxValue;
        var required = new Stack<FilterClause>(root.Must);
        while (required.Count > 0)
        {
            CandidateList[]? lists = null;
            string? field = null;
            switch (required.Pop())
            {
                case Filter nested:
                    foreach (var clause in nested.Must) required.Push(clause);
                    continue;
                case KeywordMatch match when _payloads.Column(match.Field) is { } column:
                    KeywordDictionary? dictionary = column switch { KeywordColumn k => k.Dictionary, KeywordListColumn l => l.Dictionary, _ => null };
                    if (dictionary is null) continue;
                    var found = new List<CandidateList>();
                    foreach (string keyword in match.AnyOf.Distinct())
                        if (dictionary.TryGetCode(keyword, out int code)) found.Add(new CandidateList(dictionary.Postings(code).Read()));
                    lists = [.. found];
                    field = match.Field;
                    break;
                case LabelMatch labels when nodesByLabel is not null:
                    var listed = new List<CandidateList>();
                    foreach (int label in labels.AnyOf.Distinct())
                        if (nodesByLabel.TryGetValue(label, out var postings)) listed.Add(new CandidateList(postings.Read()));
                    lists = [.. listed];
                    break;
                case InIdSet inSet when nodeById is not null && _idSets[inSet.Name].Count <= FilterLimits.MaxValuesPerCondition:
                    var setNodes = new List<int>();
                    foreach (long id in _idSets[inSet.Name].Ids)
                        if (nodeById.TryGetValue(id, out int node)) setNodes.Add(node);
                    lists = [new CandidateList([.. setNodes], 0, setNodes.Count)];
                    break;
                case HasId hasId when nodeById is not null:
                    var nodes = new List<int>();
                    foreach (long id in hasId.Ids.Distinct())
                        if (nodeById.TryGetValue(id, out int node)) nodes.Add(node);
                    lists = [new CandidateList([.. nodes], 0, nodes.Count)];
                    break;
                case NumericRange range when FindInRangeIndex(range) is var (slice, tail, _):
                    lists = tail.Count == 0 ? [slice] : [slice, tail];
                    break;
                default:
                    continue;
            }
            long count = 0;
            foreach (CandidateList list in lists) count += list.Count;
            if (count < bestCount)
            {
                best = lists;
                bestCount = count;
                keywordField = field;
            }
        }
        return best;
    }

    /// <summary>Looks every id set the expression names up once, before anything is compiled.</summary>
    /// <exception cref="UnknownIdSetException">a name <paramref name="sets"/> does not hold.</exception>
    private void FindIdSets(FilterClause clause, IIdSetSource? sets)
    {
        switch (clause)
        {
            case Filter nested:
                foreach (var child in nested.Must) FindIdSets(child, sets);
                foreach (var child in nested.Should) FindIdSets(child, sets);
                foreach (var child in nested.MustNot) FindIdSets(child, sets);
                return;
            case InIdSet inSet when !_idSets.ContainsKey(inSet.Name):
                _idSets.Add(inSet.Name, sets?.Find(inSet.Name) ?? throw new UnknownIdSetException(inSet.Name));
                return;
        }
    }

    /// <summary>Checks an expression against <see cref="FilterLimits"/> before any of it is compiled.</summary>
    public static void Validate(Filter filter)
    {
        int conditions = 0;
        Walk(filter, depth: 1, ref conditions);

        static void Walk(FilterClause clause, int depth, ref int conditions)
        {
            switch (clause)
            {
                case null:
                    throw new ArgumentException("filter has a null clause", "filter");
                case Filter nested:
                    if (depth > FilterLimits.MaxDepth)
                        throw new ArgumentException($"filter nests deeper than the limit MaxDepth ({FilterLimits.MaxDepth})", "filter");
                    foreach (var child in nested.Must) Walk(child, depth + 1, ref conditions);
                    foreach (var child in nested.Should) Walk(child, depth + 1, ref conditions);
                    foreach (var child in nested.MustNot) Walk(child, depth + 1, ref conditions);
                    return;
                default:
                    if (++conditions > FilterLimits.MaxConditions)
                        throw new ArgumentException($"filter has more than the limit MaxConditions ({FilterLimits.MaxConditions}) conditions", "filter");
                    ValidateCondition(clause);
                    return;
            }
        }
    }

    private static void ValidateCondition(FilterClause clause)
    {
        switch (clause)
        {
            case KeywordMatch match:
                ValidateField(match.Field, clause);
                ValidateValueCount(match.AnyOf?.Count, clause);
                foreach (string keyword in match.AnyOf!)
                {
                    if (keyword is null) throw new ArgumentException($"filter condition '{clause}' has a null keyword", "filter");
                    if (keyword.Length > FilterLimits.MaxKeywordLength)
                        throw new ArgumentException($"filter condition on '{match.Field}' has a keyword of {keyword.Length} characters, more than the limit MaxKeywordLength ({FilterLimits.MaxKeywordLength})", "filter");
                }
                break;
            case IntegerMatch match:
                ValidateField(match.Field, clause);
                ValidateValueCount(match.AnyOf?.Count, clause);
                break;
            case NumericRange range:
                ValidateField(range.Field, clause);
                if (double.IsNaN(range.Gt ?? 0) || double.IsNaN(range.Gte ?? 0) || double.IsNaN(range.Lt ?? 0) || double.IsNaN(range.Lte ?? 0))
                    throw new ArgumentException($"filter range on '{range.Field}' has a NaN bound", "filter");
                break;
            case BoolMatch match:
                ValidateField(match.Field, clause);
                break;
            case IsNull isNull:
                ValidateField(isNull.Field, clause);
                break;
            case IsEmpty isEmpty:
                ValidateField(isEmpty.Field, clause);
                break;
            case HasId hasId:
                ValidateValueCount(hasId.Ids?.Count, clause);
                break;
            case LabelMatch labels:
                ValidateValueCount(labels.AnyOf?.Count, clause);
                break;
            case InIdSet inSet:
                if (string.IsNullOrEmpty(inSet.Name)) throw new ArgumentException("filter condition 'id in set' names no set", "filter");
                if (inSet.Name.Length > FilterLimits.MaxIdSetNameLength)
                    throw new ArgumentException($"filter condition 'id in set' names a set of {inSet.Name.Length} characters, more than the limit MaxIdSetNameLength ({FilterLimits.MaxIdSetNameLength})", "filter");
                break;
            default:
                throw new ArgumentException($"filter has an unknown kind of condition: {clause.GetType().Name}", "filter");
        }
    }

    private static void ValidateField(string field, FilterClause clause)
    {
        if (string.IsNullOrEmpty(field)) throw new ArgumentException($"filter condition '{clause}' names no field", "filter");
    }

    private static void ValidateValueCount(int? count, FilterClause clause)
    {
        if (count is null or 0) throw new ArgumentException($"filter condition '{clause}' has no values", "filter");
        if (count > FilterLimits.MaxValuesPerCondition)
            throw new ArgumentException($"filter condition '{clause.GetType().Name}' has {count} values, more than the limit MaxValuesPerCondition ({FilterLimits.MaxValuesPerCondition})", "filter");
    }

    // ---- the branch program --------------------------------------------------------------------------------------

    /// <summary>
    /// Emits <paramref name="clause"/> so that it continues at <paramref name="onTrue"/> when it holds and at
    /// <paramref name="onFalse"/> otherwise; returns its first instruction (or a verdict when it is constant). Sequences
    /// are emitted back to front, so every jump target exists when it is named.
    /// </summary>
    private int Emit(FilterClause clause, int onTrue, int onFalse)
    {
        if (clause is not Filter filter) return EmitCondition(clause, onTrue, onFalse);

        // must (most selective first), then the should group, then each must_not (most likely to reject first).
        var steps = new List<(FilterClause? Clause, bool Negated, double RejectChance)>();
        foreach (var c in filter.Must) steps.Add((c, false, 1 - Estimate(c)));
        if (filter.Should.Count > 0) steps.Add((null, false, 1 - EstimateAny(filter.Should)));
        foreach (var c in filter.MustNot) steps.Add((c, true, Estimate(c)));
        steps.Sort((a, b) => b.RejectChance.CompareTo(a.RejectChance));

        int next = onTrue;
        for (int i = steps.Count - 1; i >= 0; i--)
        {
            var (c, negated, _) = steps[i];
            next = c is null ? EmitAny(filter.Should, next, onFalse)
                : negated ? Emit(c, onFalse, next)
                : Emit(c, next, onFalse);
        }
        return next;
    }

    private int EmitAny(IReadOnlyList<FilterClause> should, int onTrue, int onFalse)
    {
        var ordered = should.OrderByDescending(Estimate).ToList(); // likeliest to accept first
        int next = onFalse;
        for (int i = ordered.Count - 1; i >= 0; i--) next = Emit(ordered[i], onTrue, next);
        return next;
    }

    private int EmitCondition(FilterClause clause, int onTrue, int onFalse)
    {
        CompiledCondition condition = Resolve(clause, out bool negate);
        if (negate) (onTrue, onFalse) = (onFalse, onTrue);
        if (condition.Op == ConditionOp.Never) return onFalse;
        if (condition.Op == ConditionOp.Always) return onTrue;
        condition.OnTrue = onTrue;
        condition.OnFalse = onFalse;
        condition.Selectivity = Estimate(clause);
        _program.Add(condition);
        return _program.Count - 1;
    }

    /// <summary>The instruction for one condition; <paramref name="negate"/> when it tests the opposite (is-null tests presence).</summary>
    private CompiledCondition Resolve(FilterClause clause, out bool negate)
    {
        negate = false;
        switch (clause)
        {
            case KeywordMatch match:
            {
                PayloadColumn? column = ColumnFor(match.Field, clause, PayloadKind.Keyword, PayloadKind.KeywordList);
                if (column is null) return Constant(false);
                KeywordDictionary dictionary = column is KeywordColumn k ? k.Dictionary : ((KeywordListColumn)column).Dictionary;
                // Values no point has can never match: they are dropped here, so no node ever looks a string up.
                var codes = new List<int>();
                foreach (string keyword in match.AnyOf)
                    if (dictionary.TryGetCode(keyword, out int code)) codes.Add(code);
                if (codes.Count == 0) return Constant(false);
                return new CompiledCondition
                {
                    Op = column.Kind == PayloadKind.Keyword ? ConditionOp.KeywordAnyOf : ConditionOp.KeywordListAnyOf,
                    Column = column,
                    Codes = Sorted(codes),
                };
            }
            case IntegerMatch match:
            {
                PayloadColumn? column = ColumnFor(match.Field, clause, PayloadKind.Int64, PayloadKind.Int64List);
                if (column is null) return Constant(false);
                return new CompiledCondition
                {
                    Op = column.Kind == PayloadKind.Int64 ? ConditionOp.Int64AnyOf : ConditionOp.Int64ListAnyOf,
                    Column = column,
                    Values = Sorted(match.AnyOf),
                };
            }
            case NumericRange range:
            {
                PayloadColumn? column = ColumnFor(range.Field, clause, PayloadKind.Int64, PayloadKind.Int64List, PayloadKind.Double);
                if (column is null) return Constant(false);
                if (column.Kind == PayloadKind.Double)
                {
                    var (low, high) = DoubleBounds(range);
                    if (!(low <= high)) return Constant(false);
                    return new CompiledCondition { Op = ConditionOp.DoubleRange, Column = column, LowDouble = low, HighDouble = high };
                }
                if (!TryInt64Bounds(range, out long lowInt, out long highInt)) return Constant(false);
                return new CompiledCondition
                {
                    Op = column.Kind == PayloadKind.Int64 ? ConditionOp.Int64Range : ConditionOp.Int64ListRange,
                    Column = column,
                    Low = lowInt,
                    High = highInt,
                };
            }
            case BoolMatch match:
            {
                PayloadColumn? column = ColumnFor(match.Field, clause, PayloadKind.Bool);
                if (column is null) return Constant(false);
                return new CompiledCondition { Op = ConditionOp.BoolIs, Column = column, Bool = match.Value };
            }
            case IsNull isNull:
            {
                PayloadColumn? column = _payloads.Column(isNull.Field);
                if (column is null) return Constant(true);
                negate = true;
                return new CompiledCondition { Op = ConditionOp.Present, Column = column };
            }
            case IsEmpty isEmpty:
            {
                PayloadColumn? column = _payloads.Column(isEmpty.Field);
                if (column is null) return Constant(true);
                negate = true;
                var op = column.Kind switch
                {
                    PayloadKind.KeywordList => ConditionOp.KeywordListNonEmpty,
                    PayloadKind.Int64List => ConditionOp.Int64ListNonEmpty,
                    _ => ConditionOp.Present,
                };
                return new CompiledCondition { Op = op, Column = column };
            }
            case HasId hasId:
                return new CompiledCondition { Op = ConditionOp.HasId, Values = Sorted(hasId.Ids) };
            case LabelMatch labels:
                return new CompiledCondition { Op = ConditionOp.LabelsAnyOf, Codes = Sorted(labels.AnyOf) };
            case InIdSet inSet:
            {
                IdSet set = _idSets[inSet.Name];
                if (set.Count == 0) return Constant(false);
                var bitmap = _storage is null ? default : set.BitmapFor(_storage, _nodeById);
                return new CompiledCondition { Op = ConditionOp.InIdSet, Values = set.SortedIds, Bits = bitmap.Bits, Covered = bitmap.Covered };
            }
            default:
                throw new ArgumentException($"filter has an unknown kind of condition: {clause.GetType().Name}", "filter");
        }
    }

    /// <summary>The field's column, or null when no point has ever had the field; refuses a field of the wrong kind.</summary>
    private PayloadColumn? ColumnFor(string field, FilterClause clause, params PayloadKind[] kinds)
    {
        PayloadColumn? column = _payloads.Column(field);
        if (column is null || Array.IndexOf(kinds, column.Kind) >= 0) return column;
        throw new ArgumentException($"filter condition '{clause}': field '{field}' holds {column.Kind} values, which this condition cannot test (it needs {string.Join(" or ", kinds)})", "filter");
    }

    private static CompiledCondition Constant(bool value) => new() { Op = value ? ConditionOp.Always : ConditionOp.Never };

    /// <summary>The inclusive double bounds: an exclusive bound becomes the next double inward.</summary>
    private static (double Low, double High) DoubleBounds(NumericRange range)
    {
        double low = double.NegativeInfinity, high = double.PositiveInfinity;
        if (range.Gte is { } gte) low = Math.Max(low, gte);
        if (range.Gt is { } gt) low = Math.Max(low, gt == double.PositiveInfinity ? double.NaN : Math.BitIncrement(gt));
        if (range.Lte is { } lte) high = Math.Min(high, lte);
        if (range.Lt is { } lt) high = Math.Min(high, lt == double.NegativeInfinity ? double.NaN : Math.BitDecrement(lt));
        return (low, high);
    }

    /// <summary>The inclusive int64 bounds equal to the double bounds on integers; false when no integer is within.</summary>
    private static bool TryInt64Bounds(NumericRange range, out long low, out long high)
    {
        const double TwoTo63 = 9223372036854775808.0;
        double lowReal = double.NegativeInfinity, highReal = double.PositiveInfinity;
        if (range.Gte is { } gte) lowReal = Math.Max(lowReal, Math.Ceiling(gte));
        if (range.Gt is { } gt) lowReal = Math.Max(lowReal, Math.Floor(gt) + 1);
        if (range.Lte is { } lte) highReal = Math.Min(highReal, Math.Floor(lte));
        if (range.Lt is { } lt) highReal = Math.Min(highReal, Math.Ceiling(lt) - 1);
        low = high = 0;
        if (lowReal > highReal || lowReal >= TwoTo63 || highReal < -TwoTo63) return false;
        low = lowReal < -TwoTo63 ? long.MinValue : (long)lowReal;
        high = highReal >= TwoTo63 ? long.MaxValue : (long)highReal;
        return low <= high;
    }

    private static int[] Sorted(IEnumerable<int> values)
    {
        int[] sorted = [.. values.Distinct()];
        Array.Sort(sorted);
        return sorted;
    }

    private static long[] Sorted(IEnumerable<long> values)
    {
        long[] sorted = [.. values.Distinct()];
        Array.Sort(sorted);
        return sorted;
    }

    // ---- the planner's estimate ------------------------------------------------------------------------------------

    /// <summary>The estimated fraction of live points that pass <paramref name="clause"/>, in [0, 1].</summary>
    private double Estimate(FilterClause clause)
    {
        switch (clause)
        {
            case Filter filter:
            {
                double pass = 1;
                foreach (var c in filter.Must) pass *= Estimate(c);
                if (filter.Should.Count > 0) pass *= EstimateAny(filter.Should);
                foreach (var c in filter.MustNot) pass *= 1 - Estimate(c);
                return pass;
            }
            case KeywordMatch match:
            {
                PayloadColumn? column = SafeColumn(match.Field, PayloadKind.Keyword, PayloadKind.KeywordList);
                if (column is null) return 0;
                KeywordDictionary dictionary = column is KeywordColumn k ? k.Dictionary : ((KeywordListColumn)column).Dictionary;
                double count = 0;
                foreach (string keyword in match.AnyOf.Distinct())
                    if (dictionary.TryGetCode(keyword, out int code)) count += dictionary.LiveCount(code);
                return Fraction(Math.Min(count, column.LivePresent));
            }
            case IntegerMatch match:
            {
                PayloadColumn? column = SafeColumn(match.Field, PayloadKind.Int64, PayloadKind.Int64List);
                if (column is null) return 0;
                NumericStatistics statistics = column is Int64Column c ? c.Statistics : ((Int64ListColumn)column).Statistics;
                double count = 0;
                foreach (long value in match.AnyOf.Distinct()) count += statistics.EstimateEqual(value);
                return Fraction(Math.Min(count, column.LivePresent));
            }
            case NumericRange range:
            {
                PayloadColumn? column = SafeColumn(range.Field, PayloadKind.Int64, PayloadKind.Int64List, PayloadKind.Double);
                if (column is null) return 0;
                if (FindInRangeIndex(range) is var (_, _, indexed)) return Fraction(Math.Min(indexed, column.LivePresent));
                if (column is DoubleColumn doubles)
                {
                    var (low, high) = DoubleBounds(range);
                    return Fraction(doubles.Histogram.Estimate(low, high));
                }
                if (!TryInt64Bounds(range, out long lowInt, out long highInt)) return 0;
                NumericHistogram histogram = column is Int64Column c ? c.Statistics.Histogram : ((Int64ListColumn)column).Statistics.Histogram;
                // Integers are counted from half below the first to half above the last, so a bucket narrower than one
                // (small magnitudes) is not cut to nothing.
                return Fraction(Math.Min(histogram.Estimate(lowInt - 0.5, highInt + 0.5), column.LivePresent));
            }
            case BoolMatch match:
            {
                if (SafeColumn(match.Field, PayloadKind.Bool) is not BoolColumn column) return 0;
                return Fraction(match.Value ? column.LiveTrue : column.LivePresent - column.LiveTrue);
            }
            case IsNull isNull:
                return _payloads.Column(isNull.Field) is { } present ? 1 - Fraction(present.LivePresent) : 1;
            case IsEmpty isEmpty:
                return _payloads.Column(isEmpty.Field) is { } nonEmpty ? 1 - Fraction(nonEmpty.LiveNonEmpty) : 1;
            case HasId hasId:
                return Fraction(hasId.Ids.Distinct().Count());
            case InIdSet inSet:
                return Fraction(_idSets[inSet.Name].Count);
            case LabelMatch labels:
            {
                double count = 0;
                foreach (int label in labels.AnyOf.Distinct()) count += _liveCountByLabel.GetValueOrDefault(label);
                return Fraction(count);
            }
            default:
                return 1;
        }
    }

    /// <summary>
    /// The range's candidates and estimate from its field's sorted index (<see cref="NumericRangeIndex{T}"/>), built or
    /// rebuilt first when missing or stale; null when the field is not numeric, no point has it, or no value can pass.
    /// </summary>
    private (CandidateList Slice, CandidateList Tail, double Estimate)? FindInRangeIndex(NumericRange range)
    {
        if (_storage is not { } storage || !_useRangeIndexes) return null;
        switch (_payloads.Column(range.Field))
        {
            case DoubleColumn doubles:
            {
                var (low, high) = DoubleBounds(range);
                if (!(low <= high)) return null;
                if (!doubles.RangeIndex.IsCurrent) doubles.EnsureRangeIndex(storage.NodeCount, IsLive);
                return doubles.RangeIndex.Find(low, high);
            }
            case Int64Column integers when TryInt64Bounds(range, out long low, out long high):
                if (!integers.RangeIndex.IsCurrent) integers.EnsureRangeIndex(storage.NodeCount, IsLive);
                return integers.RangeIndex.Find(low, high);
            case Int64ListColumn lists when TryInt64Bounds(range, out long low, out long high):
                if (!lists.RangeIndex.IsCurrent) lists.EnsureRangeIndex(storage.NodeCount, IsLive);
                return lists.RangeIndex.Find(low, high);
            default:
                return null;
        }
    }

    private bool IsLive(int node) => _storage!.States[node] == NodeState.Live;

    private double EstimateAny(IReadOnlyList<FilterClause> should)
    {
        double fail = 1;
        foreach (var c in should) fail *= 1 - Estimate(c);
        return 1 - fail;
    }

    private PayloadColumn? SafeColumn(string field, params PayloadKind[] kinds) =>
        _payloads.Column(field) is { } column && Array.IndexOf(kinds, column.Kind) >= 0 ? column : null;

    private double Fraction(double count) => Math.Clamp(count / _live, 0, 1);
}
