namespace AnnServer.Core.Filtering;

/// <summary>The bool field equals <see cref="Value"/>.</summary>
public sealed class BoolMatch(string field, bool value) : FilterClause
{
    public string Field { get; } = field;
    public bool Value { get; } = value;

    public override string ToString() => $"{Field} is {(Value ? "true" : "false")}";
}
