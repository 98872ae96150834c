using AnnServer.Core.Filtering;

namespace AnnServer.Core;

/// <summary>
/// Restricts a search to points that carry at least one of <see cref="AnyOfLabels"/> (when given), whose id is not in
/// <see cref="ExcludedIds"/> (nor in the <see cref="IExcludedIds"/> of <see cref="AlsoExcluding"/>), and that pass the
/// payload filter <see cref="Where"/> (when given). Build one per request; it is read-only afterwards. The index compiles
/// it once per request (labels and ids become conditions of the filter language: <see cref="LabelMatch"/>, must_not
/// <see cref="HasId"/>; the <see cref="IExcludedIds"/> is asked before them).
/// </summary>
public sealed partial class SearchFilter
{
    private readonly HashSet<int>? _anyOfLabels;
    private readonly HashSet<long>? _excludedIds;
    private readonly IExcludedIds? _alsoExcluded;
    private readonly IIdSetSource? _idSets;

    public SearchFilter(IEnumerable<int>? anyOfLabels = null, IEnumerable<long>? excludedIds = null)
    {
        if (anyOfLabels is not null)
        {
            _anyOfLabels = new HashSet<int>(anyOfLabels);
            if (_anyOfLabels.Count == 0) _anyOfLabels = null;
        }
        if (excludedIds is not null)
        {
            _excludedIds = new HashSet<long>(excludedIds);
            if (_excludedIds.Count == 0) _excludedIds = null;
        }
    }

    private SearchFilter(SearchFilter? inner, IExcludedIds? alsoExcluded, IIdSetSource? idSets)
    {
        _anyOfLabels = inner?._anyOfLabels;
        _excludedIds = inner?._excludedIds;
        _alsoExcluded = alsoExcluded;
        _idSets = idSets;
        Where = inner?.Where;
    }

    /// <summary><paramref name="filter"/> (null: none) that also leaves out <paramref name="ids"/>, which are shared, not
    /// copied.</summary>
    public static SearchFilter AlsoExcluding(SearchFilter? filter, IExcludedIds ids) => new(filter, ids, filter?._idSets);

    /// <summary><paramref name="filter"/> whose <see cref="InIdSet"/> conditions are looked up in <paramref name="sets"/>
    /// (a collection's stored id sets); the filter itself when it has no expression to name a set in.</summary>
    public static SearchFilter WithIdSets(SearchFilter filter, IIdSetSource sets) =>
        filter.Where is null ? filter : new(filter, filter._alsoExcluded, sets);

    public IReadOnlyCollection<int>? AnyOfLabels => _anyOfLabels;
    public IReadOnlyCollection<long>? ExcludedIds => _excludedIds;

    /// <summary>A filter expression over the points' payloads, ids and labels; null for none.</summary>
    public Filter? Where { get; init; }

    internal IExcludedIds? AlsoExcluded => _alsoExcluded;

    /// <summary>Where <see cref="InIdSet"/> names are found; null: nowhere (a filter naming a set is refused).</summary>
    internal IIdSetSource? IdSets => _idSets;

    /// <summary>A filter of the expression alone.</summary>
    public static SearchFilter Of(Filter where) => new() { Where = where };

    /// <summary>True when the filter lets every point through.</summary>
    public bool IsEmpty => _anyOfLabels is null && _excludedIds is null && _alsoExcluded is null && Where is null;

    /// <summary>Whether a point with this id and these labels passes the labels and excluded ids (not <see cref="Where"/>).</summary>
    public bool Allows(long id, int[]? labels)
    {
        if (_excludedIds is not null && _excludedIds.Contains(id)) return false;
        if (_alsoExcluded is not null && _alsoExcluded.Contains(id)) return false;
        if (_anyOfLabels is null) return true;
        if (labels is null) return false;
        foreach (int label in labels)
            if (_anyOfLabels.Contains(label)) return true;
        return false;
    }
}
