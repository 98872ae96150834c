namespace AnnServer.Core.Filtering;

/// <summary>The field (int64, or int64 list: any element) equals one of <see cref="AnyOf"/>.</summary>
public sealed class IntegerMatch(string field, params long[] anyOf) : FilterClause
{
    public string Field { get; } = field;
    public IReadOnlyList<long> AnyOf { get; } = anyOf;

    public override string ToString() => $"{Field} in [{string.Join(", ", AnyOf)}]";
}
