using AnnServer.Core.Filtering;

namespace AnnServer.Core;

public sealed partial class SearchFilter
{
    private SearchFilter(SearchFilter? inner, Filter where)
    {
        _anyOfLabels = inner?._anyOfLabels;
        _excludedIds = inner?._excludedIds;
        _alsoExcluded = inner?._alsoExcluded;
        Where = inner?.Where is { } innerWhere ? Filter.All(innerWhere, where) : where;
    }

    /// <summary><paramref name="filter"/> (null: none) that also requires <paramref name="where"/>; the rest is shared.</summary>
    internal static SearchFilter AlsoRequiring(SearchFilter? filter, Filter where) => new(filter, where);
}
