using AnnServer.Core.Storage;
namespace AnnServer.Core.Payloads;

/// <summary>A double field: one flat double per node.</summary>
internal sealed class DoubleColumn(string name) : PayloadColumn(name, PayloadKind.Double)
{
    public SparseChunkedArray<double> Values { get; } = new();
    public NumericHistogram Histogram { get; } = new();

    public override PayloadValue Read(int node) => PayloadValue.Double(Values[node]);

    public override long MemoryBytes => Present.AllocatedBytes + Values.AllocatedBytes + Histogram.MemoryBytes;

    protected override void WriteValue(int node, PayloadValue value) => Values.Set(node, value.AsDouble());

    protected override void CountValues(int node, int delta) => Histogram.Count(Values[node], delta);
}
