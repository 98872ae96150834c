namespace AnnServer.Core.Filtering;

/// <summary>The point's id is one of <see cref="Ids"/>. Not-id: put it under must_not (<see cref="Filter.NotId"/>).</summary>
public sealed class HasId(params long[] ids) : FilterClause
{
    public IReadOnlyList<long> Ids { get; } = ids;

    public override string ToString() => $"id in [{string.Join(", ", Ids)}]";
}
