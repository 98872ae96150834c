namespace AnnServer.Core.Filtering;

/// <summary>
/// A node of a filter expression: a <see cref="Filter"/> (must / should / must_not over clauses) or a condition
/// (<see cref="KeywordMatch"/>, <see cref="IntegerMatch"/>, <see cref="NumericRange"/>, <see cref="BoolMatch"/>,
/// <see cref="IsNull"/>, <see cref="IsEmpty"/>, <see cref="HasId"/>, <see cref="InIdSet"/>, <see cref="LabelMatch"/>). Immutable; the set of
/// kinds is closed (the compiler knows each one).
/// </summary>
public abstract class FilterClause
{
    private protected FilterClause() { }
}
