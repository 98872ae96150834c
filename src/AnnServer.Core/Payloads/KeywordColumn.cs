using AnnServer.Core.Storage;
namespace AnnServer.Core.Payloads;

/// <summary>A keyword field: one int32 dictionary code per node.</summary>
internal sealed class KeywordColumn(string name) : PayloadColumn(name, PayloadKind.Keyword)
{
    public KeywordDictionary Dictionary { get; } = new();
    public SparseChunkedArray<int> Codes { get; } = new();

    public override PayloadValue Read(int node) => PayloadValue.Keyword(Dictionary[Codes[node]]);

    public override long MemoryBytes => Present.AllocatedBytes + Codes.AllocatedBytes + Dictionary.MemoryBytes;

    protected override void WriteValue(int node, PayloadValue value)
    {
        int code = Dictionary.GetOrAdd(value.AsKeyword());
        bool listed = IsPresent(node) && Codes[node] == code;
        Codes.Set(node, code);
        if (!listed) Dictionary.Postings(code).Add(node);
    }

    protected override void CountValues(int node, int delta) => Dictionary.CountLive(Codes[node], delta);
}
