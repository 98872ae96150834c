namespace AnnServer.Core.Filtering;

/// <summary>Bounds on a filter expression; a filter past one is refused with an <see cref="ArgumentException"/> naming it.</summary>
/// <remarks>They bound the work of compiling and, above all, of evaluating the filter on every node a search touches.</remarks>
public static class FilterLimits
{
    /// <summary>Nesting of <see cref="Filter"/>s: the top filter is depth 1.</summary>
    public const int MaxDepth = 8;

    /// <summary>Conditions (leaves: matches, ranges, nulls, ids) in one expression.</summary>
    public const int MaxConditions = 64;

    /// <summary>Values of one keyword, integer, id or label match.</summary>
    public const int MaxValuesPerCondition = 1024;

    /// <summary>Characters of a stored id set's name (<see cref="InIdSet"/>).</summary>
    public const int MaxIdSetNameLength = 128;

    /// <summary>Characters of one keyword a filter matches (the same as a stored keyword's limit).</summary>
    public const int MaxKeywordLength = Payloads.PayloadLimits.MaxKeywordLength;
}
