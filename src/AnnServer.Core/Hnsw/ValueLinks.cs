namespace AnnServer.Core.Hnsw;

/// <summary>
/// Level-0 links among the points that share a keyword value (Qdrant's payload index links): each node of a value
/// lists up to <see cref="MaxLinks"/> of that value's points, its nearest and those that have it among theirs. A walk
/// filtered on the value follows them as well as the graph's own, so the value's points form a graph of their own.
/// </summary>
/// <remarks>
/// Layout: pages of <see cref="NodesPerPage"/> rows; row n at <c>(n mod NodesPerPage) · (1 + MaxLinks)</c> of page
/// <c>n / NodesPerPage</c>: the count, then the node numbers. Pages are never moved once made, so growing the table for
/// new nodes copies only the page directory, and no write made meanwhile is lost. Writers take the table's own lock;
/// searches read without it: an id is written before the count that covers it (a reader sees a shorter or longer list,
/// never a torn one), and every id is a node number that a walk tests (live, passing) before it follows it, so a link to
/// a deleted node, or to one whose value changed since, costs a filter test and nothing else.
/// </remarks>
internal sealed class ValueLinks
{
    public const int PageShift = 10;
    public const int NodesPerPage = 1 << PageShift;

    private readonly object _writeLock = new();
    private int[][] _pages = [];

    public ValueLinks(string field, int maxLinks, int nodeCapacity = 0)
    {
        Field = field;
        MaxLinks = maxLinks;
        EnsureCapacity(nodeCapacity);
    }

    public string Field { get; }
    public int MaxLinks { get; }
    private int RowLength => 1 + MaxLinks;

    /// <summary>Whether searches follow the links: false while they are built for the points already there.</summary>
    public bool IsComplete { get; set; }

    /// <summary>Nodes the table has rows for.</summary>
    public int NodeCapacity => Volatile.Read(ref _pages).Length << PageShift;

    public long MemoryBytes => (long)Volatile.Read(ref _pages).Length * NodesPerPage * RowLength * sizeof(int);

    public ReadOnlySpan<int> Links(int node)
    {
        int[][] pages = Volatile.Read(ref _pages);
        int page = node >> PageShift;
        if ((uint)page >= (uint)pages.Length) return default;
        int[] rows = pages[page];
        int row = (node & (NodesPerPage - 1)) * RowLength;
        int count = Math.Min(Volatile.Read(ref rows[row]), MaxLinks);
        return rows.AsSpan(row + 1, count);
    }

    /// <summary>Makes rows (empty) for nodes below <paramref name="nodes"/>.</summary>
    public void EnsureCapacity(int nodes)
    {
        if (nodes <= NodeCapacity) return;
        lock (_writeLock)
        {
            int[][] pages = _pages;
            int needed = (nodes + NodesPerPage - 1) >> PageShift;
            if (needed <= pages.Length) return;
            var grown = new int[Math.Max(needed, pages.Length * 2)][];
            pages.CopyTo(grown, 0);
            for (int page = pages.Length; page < grown.Length; page++) grown[page] = new int[NodesPerPage * RowLength];
            Volatile.Write(ref _pages, grown);
        }
    }

    /// <summary>Adds a link unless it is there or the row is full; returns whether it was added.</summary>
    public bool TryAdd(int node, int target)
    {
        EnsureCapacity(Math.Max(node, target) + 1);
        lock (_writeLock)
        {
            int[] rows = _pages[node >> PageShift];
            int row = (node & (NodesPerPage - 1)) * RowLength;
            int count = rows[row];
            if (count == MaxLinks || rows.AsSpan(row + 1, count).Contains(target)) return false;
            rows[row + 1 + count] = target;
            Volatile.Write(ref rows[row], count + 1);
            return true;
        }
    }

    /// <summary>Empties a node's row (its value changed: the links it had lead to another value's points).</summary>
    public void Clear(int node)
    {
        if (node >= NodeCapacity) return;
        lock (_writeLock) Volatile.Write(ref _pages[node >> PageShift][(node & (NodesPerPage - 1)) * RowLength], 0);
    }

    /// <summary>Replaces a node's row by <paramref name="links"/> (at most <see cref="MaxLinks"/>), for a snapshot load.</summary>
    public void SetRow(int node, ReadOnlySpan<int> links)
    {
        EnsureCapacity(node + 1);
        lock (_writeLock)
        {
            int[] rows = _pages[node >> PageShift];
            int row = (node & (NodesPerPage - 1)) * RowLength;
            links.CopyTo(rows.AsSpan(row + 1));
            Volatile.Write(ref rows[row], links.Length);
        }
    }

    /// <summary>Fills the rows of nodes [0, nodes) from a flat copy (<c>nodes · (1 + MaxLinks)</c> int32), a page at a time.</summary>
    public void LoadRows(ReadOnlySpan<int> flat, int nodes)
    {
        EnsureCapacity(nodes);
        lock (_writeLock)
        {
            int pageInts = NodesPerPage * RowLength;
            for (int page = 0; (long)page * NodesPerPage < nodes; page++)
            {
                int start = page * pageInts;
                flat.Slice(start, Math.Min(pageInts, flat.Length - start)).CopyTo(_pages[page]);
            }
        }
    }
}
