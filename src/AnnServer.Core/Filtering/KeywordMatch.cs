namespace AnnServer.Core.Filtering;

/// <summary>The field (keyword, or keyword list: any element) equals one of <see cref="AnyOf"/>.</summary>
public sealed class KeywordMatch(string field, params string[] anyOf) : FilterClause
{
    public string Field { get; } = field;
    public IReadOnlyList<string> AnyOf { get; } = anyOf;

    public override string ToString() => $"{Field} in [{string.Join(", ", AnyOf.Select(v => $"\"{v}\""))}]";
}
