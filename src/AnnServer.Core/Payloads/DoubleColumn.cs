using AnnServer.Core.Storage;
namespace AnnServer.Core.Payloads;

/// <summary>A double field: one flat double per node, and its values sorted once a range filter asks (<see cref="RangeIndex"/>).</summary>
internal sealed class DoubleColumn(string name) : PayloadColumn(name, PayloadKind.Double)
{
    public SparseChunkedArray<double> Values { get; } = new();
    public NumericHistogram Histogram { get; } = new();
    public NumericRangeIndex<double> RangeIndex { get; } = new();

    public override PayloadValue Read(int node) => PayloadValue.Double(Values[node]);

    public override long MemoryBytes => Present.AllocatedBytes + Values.AllocatedBytes + Histogram.MemoryBytes + RangeIndex.MemoryBytes;

    /// <summary>Makes <see cref="RangeIndex"/> current from the live nodes' values when it is missing or stale.</summary>
    public void EnsureRangeIndex(int nodeCount, Predicate<int> isLive) =>
        RangeIndex.Update(nodeCount, isLive, IsPresent, (node, keys) => keys.Add(Values[node]));

    protected override void WriteValue(int node, PayloadValue value)
    {
        Values.Set(node, value.AsDouble());
        RangeIndex.NoteWritten(node);
    }

    protected override void CountValues(int node, int delta)
    {
        Histogram.Count(Values[node], delta);
        if (delta < 0) RangeIndex.NoteRemoved();
    }
}
