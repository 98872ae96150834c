using AnnServer.Core.Storage;
namespace AnnServer.Core.Payloads;

/// <summary>An int64 field: one flat int64 per node.</summary>
internal sealed class Int64Column(string name) : PayloadColumn(name, PayloadKind.Int64)
{
    public SparseChunkedArray<long> Values { get; } = new();
    public NumericStatistics Statistics { get; } = new();

    public override PayloadValue Read(int node) => PayloadValue.Int64(Values[node]);

    public override long MemoryBytes => Present.AllocatedBytes + Values.AllocatedBytes + Statistics.MemoryBytes;

    protected override void WriteValue(int node, PayloadValue value) => Values.Set(node, value.AsInt64());

    protected override void CountValues(int node, int delta) => Statistics.Count(Values[node], delta);
}
