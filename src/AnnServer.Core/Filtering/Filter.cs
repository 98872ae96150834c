namespace AnnServer.Core.Filtering;

/// <summary>
/// A boolean filter over points: a point passes when it passes every <see cref="Must"/> clause, at least one
/// <see cref="Should"/> clause (when there are any), and no <see cref="MustNot"/> clause. Filters nest. An empty filter
/// passes every point. Compiled once per request by the index (limits: <see cref="FilterLimits"/>).
/// </summary>
/// <example><code>
/// // nearest red or blue items, priced under 50, not sponsored, minus two the user has seen
/// new Filter(
///     must: [new KeywordMatch("color", "red", "blue"), new NumericRange("price") { Lt = 50 }],
///     mustNot: [new BoolMatch("sponsored", true), new HasId(17, 42)]);
/// </code></example>
public sealed class Filter(
    IReadOnlyList<FilterClause>? must = null,
    IReadOnlyList<FilterClause>? should = null,
    IReadOnlyList<FilterClause>? mustNot = null) : FilterClause
{
    public IReadOnlyList<FilterClause> Must { get; } = must ?? [];
    public IReadOnlyList<FilterClause> Should { get; } = should ?? [];
    public IReadOnlyList<FilterClause> MustNot { get; } = mustNot ?? [];

    /// <summary>Passes points that pass every clause.</summary>
    public static Filter All(params FilterClause[] clauses) => new(must: clauses);

    /// <summary>Passes points that pass at least one clause.</summary>
    public static Filter Any(params FilterClause[] clauses) => new(should: clauses);

    /// <summary>Passes points that pass none of the clauses.</summary>
    public static Filter None(params FilterClause[] clauses) => new(mustNot: clauses);

    /// <summary>Passes every point whose id is not one of <paramref name="ids"/> (not-id).</summary>
    public static Filter NotId(params long[] ids) => new(mustNot: [new HasId(ids)]);

    public override string ToString()
    {
        var parts = new List<string>();
        if (Must.Count > 0) parts.Add($"must [{string.Join(", ", Must)}]");
        if (Should.Count > 0) parts.Add($"should [{string.Join(", ", Should)}]");
        if (MustNot.Count > 0) parts.Add($"must_not [{string.Join(", ", MustNot)}]");
        return "{" + string.Join(" ", parts) + "}";
    }
}
