namespace AnnServer.Core.Filtering;

/// <summary>The point has no value for the field (an empty list is a value: see <see cref="IsEmpty"/>).</summary>
public sealed class IsNull(string field) : FilterClause
{
    public string Field { get; } = field;

    public override string ToString() => $"{Field} is null";
}
