namespace AnnServer.Core.Payloads;

/// <summary>A keyword field: one int32 dictionary code per node.</summary>
internal sealed class KeywordColumn(string name) : PayloadColumn(name, PayloadKind.Keyword)
{
    public KeywordDictionary Dictionary { get; } = new();
    public SparseColumnArray<int> Codes { get; } = new();

    public override PayloadValue Read(int node) => PayloadValue.Keyword(Dictionary[Codes[node]]);

    public override long MemoryBytes => Present.AllocatedBytes + Codes.AllocatedBytes + Dictionary.MemoryBytes;

    protected override void WriteValue(int node, PayloadValue value) => Codes.Set(node, Dictionary.GetOrAdd(value.AsKeyword()));

    protected override void CountValues(int node, int delta) => Dictionary.CountLive(Codes[node], delta);
}
