using AnnServer.Core.Storage;
namespace AnnServer.Core.Payloads;

/// <summary>An int64 field: one flat int64 per node, and its values sorted once a range filter asks (<see cref="RangeIndex"/>).</summary>
internal sealed class Int64Column(string name) : PayloadColumn(name, PayloadKind.Int64)
{
    public SparseChunkedArray<long> Values { get; } = new();
    public NumericStatistics Statistics { get; } = new();
    public NumericRangeIndex<long> RangeIndex { get; } = new();

    public override PayloadValue Read(int node) => PayloadValue.Int64(Values[node]);

    public override long MemoryBytes => Present.AllocatedBytes + Values.AllocatedBytes + Statistics.MemoryBytes + RangeIndex.MemoryBytes;

    /// <summary>Makes <see cref="RangeIndex"/> current from the live nodes' values when it is missing or stale.</summary>
    public void EnsureRangeIndex(int nodeCount, Predicate<int> isLive) =>
        RangeIndex.Update(nodeCount, isLive, IsPresent, (node, keys) => keys.Add(Values[node]));

    protected override void WriteValue(int node, PayloadValue value)
    {
        Values.Set(node, value.AsInt64());
        RangeIndex.NoteWritten(node);
    }

    protected override void CountValues(int node, int delta)
    {
        Statistics.Count(Values[node], delta);
        if (delta < 0) RangeIndex.NoteRemoved();
    }
}
