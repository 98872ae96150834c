using AnnServer.Core.Storage;
namespace AnnServer.Core.Payloads;

/// <summary>A bool field: one byte per node (0 or 1); presence is the bitmap's.</summary>
internal sealed class BoolColumn(string name) : PayloadColumn(name, PayloadKind.Bool)
{
    private int _liveTrue;

    public SparseChunkedArray<byte> Values { get; } = new();

    /// <summary>Live nodes whose value is true (the false ones are <see cref="PayloadColumn.LivePresent"/> minus these).</summary>
    public int LiveTrue => _liveTrue;

    public override PayloadValue Read(int node) => PayloadValue.Bool(Values[node] != 0);

    public override long MemoryBytes => Present.AllocatedBytes + Values.AllocatedBytes;

    protected override void WriteValue(int node, PayloadValue value) => Values.Set(node, value.AsBool() ? (byte)1 : (byte)0);

    protected override void CountValues(int node, int delta)
    {
        if (Values[node] != 0) _liveTrue += delta;
    }
}
