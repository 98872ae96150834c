using AnnServer.Core.Storage;
namespace AnnServer.Core.Payloads;

/// <summary>An int64-list field: per node, a small int64 array (null when absent); why per node: see <see cref="KeywordListColumn"/>.</summary>
internal sealed class Int64ListColumn(string name) : PayloadColumn(name, PayloadKind.Int64List)
{
    private long _elements;

    public SparseChunkedArray<long[]?> Lists { get; } = new();
    public NumericStatistics Statistics { get; } = new();

    /// <summary>Every element sorted, with its node (once per distinct element), once a range filter asks.</summary>
    public NumericRangeIndex<long> RangeIndex { get; } = new();

    public override PayloadValue Read(int node) => PayloadValue.Int64s([.. Lists[node]!]);

    public override long MemoryBytes => Present.AllocatedBytes + Lists.AllocatedBytes + Statistics.MemoryBytes + RangeIndex.MemoryBytes + _elements * sizeof(long);

    protected override void WriteValue(int node, PayloadValue value)
    {
        long[] values = [.. value.Int64Array];
        _elements += values.Length - (Lists[node]?.Length ?? 0) + 3; // + the array's header, in longs
        Lists.Set(node, values);
        RangeIndex.NoteWritten(node);
    }

    /// <summary>Makes <see cref="RangeIndex"/> current from the live nodes' elements when it is missing or stale.</summary>
    public void EnsureRangeIndex(int nodeCount, Predicate<int> isLive) => RangeIndex.Update(nodeCount, isLive, IsPresent, AddDistinctElements);

    private void AddDistinctElements(int node, List<long> keys)
    {
        long[] values = Lists[node]!;
        for (int i = 0; i < values.Length; i++)
            if (Array.IndexOf(values, values[i], 0, i) < 0) keys.Add(values[i]);
    }

    protected override void ClearValue(int node)
    {
        _elements -= (Lists[node]?.Length ?? 0) + 3;
        Lists.Set(node, null);
    }

    protected override bool IsEmptyList(int node) => Lists[node]!.Length == 0;

    protected override void CountValues(int node, int delta)
    {
        long[] values = Lists[node]!;
        for (int i = 0; i < values.Length; i++)
            if (Array.IndexOf(values, values[i], 0, i) < 0) Statistics.Count(values[i], delta);
        if (delta < 0) RangeIndex.NoteRemoved();
    }
}
