namespace AnnServer.Core.Filtering;

/// <summary>The point has no value for the field, or an empty list.</summary>
public sealed class IsEmpty(string field) : FilterClause
{
    public string Field { get; } = field;

    public override string ToString() => $"{Field} is empty";
}
