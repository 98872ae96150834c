using AnnServer.Core.Storage;
using System.Runtime.CompilerServices;

namespace AnnServer.Core.Payloads;

/// <summary>
/// One payload field stored column-wise by internal node number: a presence bitmap, the values in a layout of the
/// column's kind (the subclasses), and the counts the planner estimates selectivity from.
/// </summary>
/// <remarks>
/// Layout, per node n:
/// <code>
///   Present[n >> 6] bit (n &amp; 63)   1 when node n has a value (a list value may be empty)
///   values                           per kind: a flat int32 code / int64 / double / bool array, or a reference to a
///                                    per-node array for list kinds (null when absent)
/// </code>
/// Writers hold the index's map lock and write the value before setting its presence bit; searches read without a lock.
/// The counts cover live nodes only: the index adds a node's values when it commits and removes them when it tombstones.
/// </remarks>
internal abstract class PayloadColumn(string name, PayloadKind kind)
{
    public string Name { get; } = name;
    public PayloadKind Kind { get; } = kind;

    public SparseChunkedArray<ulong> Present { get; } = new();

    /// <summary>Live nodes with a value.</summary>
    public int LivePresent { get; protected set; }

    /// <summary>Live nodes with a value that is not an empty list.</summary>
    public int LiveNonEmpty { get; protected set; }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool IsPresent(int node) => (Present[node >> 6] & (1UL << node)) != 0; // a ulong shift takes the count mod 64

    public void Write(int node, PayloadValue value)
    {
        WriteValue(node, value);
        ulong word = Present[node >> 6];
        Present.Set(node >> 6, word | (1UL << node));
    }

    public void Clear(int node)
    {
        ulong word = Present[node >> 6];
        Present.Set(node >> 6, word & ~(1UL << node));
        ClearValue(node);
    }

    /// <summary>Adds (+1) or removes (−1) a present node's value to or from the counts.</summary>
    public void CountLive(int node, int delta)
    {
        LivePresent += delta;
        if (!IsEmptyList(node)) LiveNonEmpty += delta;
        CountValues(node, delta);
    }

    /// <summary>A present node's value, as the caller gave it.</summary>
    public abstract PayloadValue Read(int node);

    /// <summary>Bytes of memory the column holds (an estimate for per-node arrays and dictionaries).</summary>
    public abstract long MemoryBytes { get; }

    protected abstract void WriteValue(int node, PayloadValue value);
    protected virtual void ClearValue(int node) { }
    protected virtual bool IsEmptyList(int node) => false;
    protected abstract void CountValues(int node, int delta);

    public static PayloadColumn Create(string name, PayloadKind kind) => kind switch
    {
        PayloadKind.Keyword => new KeywordColumn(name),
        PayloadKind.KeywordList => new KeywordListColumn(name),
        PayloadKind.Int64 => new Int64Column(name),
        PayloadKind.Int64List => new Int64ListColumn(name),
        PayloadKind.Double => new DoubleColumn(name),
        PayloadKind.Bool => new BoolColumn(name),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), $"unknown payload kind {kind}"),
    };
}
