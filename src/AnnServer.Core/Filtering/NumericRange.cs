namespace AnnServer.Core.Filtering;

/// <summary>
/// The field (int64, int64 list: any element, or double) lies within the bounds given (&gt; <see cref="Gt"/>,
/// ≥ <see cref="Gte"/>, &lt; <see cref="Lt"/>, ≤ <see cref="Lte"/>; any may be left out; none given matches every
/// value). On an int64 field the bounds are compared exactly with the integer values.
/// </summary>
public sealed class NumericRange(string field) : FilterClause
{
    public string Field { get; } = field;
    public double? Gt { get; init; }
    public double? Gte { get; init; }
    public double? Lt { get; init; }
    public double? Lte { get; init; }

    public override string ToString()
    {
        var parts = new List<string>();
        if (Gt is { } gt) parts.Add($"> {gt}");
        if (Gte is { } gte) parts.Add($">= {gte}");
        if (Lt is { } lt) parts.Add($"< {lt}");
        if (Lte is { } lte) parts.Add($"<= {lte}");
        return $"{Field} {string.Join(" and ", parts)}";
    }
}
