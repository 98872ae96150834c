namespace AnnServer.Core.Payloads;

/// <summary>
/// The nodes that were given one keyword, in the order they were given it: the candidates of an exact scan driven by a
/// keyword match, so a selective match visits its own nodes instead of every node.
/// </summary>
/// <remarks>
/// Append-only: a node whose value changes, or which is deleted, stays listed (a scan tests every candidate against the
/// whole filter anyway, and drops repeats), and the list is rebuilt only when the index is (compaction). Appended under
/// the index's map lock; read without a lock: the array is read before the count and the count clamped to it, and an
/// element is written before the count that admits it, so a reader sees a prefix of the list, whole.
/// </remarks>
internal sealed class NodePostings
{
    private int[] _nodes = new int[4];
    private int _count;

    public void Add(int node)
    {
        int count = _count;
        if (count == _nodes.Length)
        {
            var larger = new int[count * 2];
            _nodes.AsSpan(0, count).CopyTo(larger);
            Volatile.Write(ref _nodes, larger);
        }
        _nodes[count] = node;
        Volatile.Write(ref _count, count + 1);
    }

    /// <summary>The nodes listed so far: the array and how many of it are valid.</summary>
    public (int[] Nodes, int Count) Read()
    {
        int[] nodes = Volatile.Read(ref _nodes);
        return (nodes, Math.Min(Volatile.Read(ref _count), nodes.Length));
    }

    public long MemoryBytes => 24 + (long)Volatile.Read(ref _nodes).Length * sizeof(int);
}
