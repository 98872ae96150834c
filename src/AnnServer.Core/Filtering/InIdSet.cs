namespace AnnServer.Core.Filtering;

/// <summary>
/// The point's id is in the stored id set named <see cref="Name"/> (<see cref="IdSet"/>). "Not in the set": put it
/// under must_not. The name is resolved when the filter is compiled, through the <see cref="IIdSetSource"/> the
/// request's <see cref="SearchFilter"/> carries; a name it does not hold is refused with an
/// <see cref="UnknownIdSetException"/>.
/// </summary>
public sealed class InIdSet(string name) : FilterClause
{
    public string Name { get; } = name;

    public override string ToString() => $"id in set '{Name}'";
}
