namespace AnnServer.Core.Filtering;

/// <summary>
/// A run of nodes that may pass a filter: <see cref="Count"/> nodes of <see cref="Nodes"/> from <see cref="Start"/>. A
/// keyword's postings (from 0), or the slice of a sorted range index whose values lie within a range.
/// </summary>
internal readonly record struct CandidateList(int[] Nodes, int Start, int Count)
{
    public CandidateList((int[] Nodes, int Count) prefix) : this(prefix.Nodes, 0, prefix.Count) { }

    public ReadOnlySpan<int> Span => Nodes.AsSpan(Start, Count);
}
