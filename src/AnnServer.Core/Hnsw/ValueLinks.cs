namespace AnnServer.Core.Hnsw;

/// <summary>
/// Level-0 links among the points that share a keyword value (Qdrant's payload index links): each node of a value
/// lists up to <see cref="MaxLinks"/> of that value's points, its nearest and those that have it among theirs. A walk
/// filtered on the value follows them as well as the graph's own, so the value's points form a graph of their own.
/// </summary>
/// <remarks>
/// Layout: row n at <c>n · (1 + MaxLinks)</c>: the count, then the ids. Built whole, then read without a lock.
/// </remarks>
internal sealed class ValueLinks(string field, int nodeCapacity, int maxLinks)
{
    private readonly int[] _rows = new int[(long)nodeCapacity * (1 + maxLinks) is var n && n <= int.MaxValue ? (int)n : throw new OutOfMemoryException()];

    public string Field { get; } = field;
    public int MaxLinks { get; } = maxLinks;
    public int NodeCapacity { get; } = nodeCapacity;
    public long MemoryBytes => (long)_rows.Length * sizeof(int);

    public ReadOnlySpan<int> Links(int node) =>
        (uint)node < (uint)NodeCapacity ? _rows.AsSpan(node * (1 + MaxLinks) + 1, _rows[node * (1 + MaxLinks)]) : default;

    /// <summary>Adds a link unless it is there or the row is full; returns whether it was added.</summary>
    public bool TryAdd(int node, int target)
    {
        int row = node * (1 + MaxLinks);
        int count = _rows[row];
        if (count == MaxLinks || _rows.AsSpan(row + 1, count).Contains(target)) return false;
        _rows[row + 1 + count] = target;
        _rows[row] = count + 1;
        return true;
    }
}
