namespace AnnServer.Core.Filtering;

/// <summary>
/// The point carries one of <see cref="AnyOf"/> among its int32 labels (the labels given with the vector, kept apart
/// from the payload: see <see cref="HnswIndex"/>'s remarks). <see cref="SearchFilter"/>'s any-of-labels is this condition.
/// </summary>
public sealed class LabelMatch(params int[] anyOf) : FilterClause
{
    public IReadOnlyList<int> AnyOf { get; } = anyOf;

    public override string ToString() => $"labels in [{string.Join(", ", AnyOf)}]";
}
