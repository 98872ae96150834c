using AnnServer.Core.Storage;
namespace AnnServer.Core.Payloads;

/// <summary>A keyword-list field: per node, a small int32 array of dictionary codes (null when absent).</summary>
/// <remarks>
/// Per-node arrays rather than offsets into one flat array: a value is replaced (a payload update) by publishing a new
/// array with one reference write, which a search racing it sees whole, old or new; a flat array would need an arena that
/// leaks replaced values until it is compacted, and a copy on growth that readers must not see half done. The cost is an
/// object header (24 bytes) per non-empty value and one more load per evaluation.
/// </remarks>
internal sealed class KeywordListColumn(string name) : PayloadColumn(name, PayloadKind.KeywordList)
{
    private long _elements;

    public KeywordDictionary Dictionary { get; } = new();
    public SparseChunkedArray<int[]?> Lists { get; } = new();

    public override PayloadValue Read(int node)
    {
        int[] codes = Lists[node]!;
        var values = new string[codes.Length];
        for (int i = 0; i < codes.Length; i++) values[i] = Dictionary[codes[i]];
        return PayloadValue.Keywords(values);
    }

    public override long MemoryBytes => Present.AllocatedBytes + Lists.AllocatedBytes + Dictionary.MemoryBytes + _elements * sizeof(int);

    protected override void WriteValue(int node, PayloadValue value)
    {
        string[] keywords = value.KeywordArray;
        var codes = new int[keywords.Length];
        for (int i = 0; i < keywords.Length; i++) codes[i] = Dictionary.GetOrAdd(keywords[i]);
        int[]? previous = Lists[node];
        _elements += codes.Length - (previous?.Length ?? 0) + 6; // + the array's header, in ints
        Lists.Set(node, codes);
        for (int i = 0; i < codes.Length; i++)
        {
            bool listed = Array.IndexOf(codes, codes[i], 0, i) >= 0 || (previous is not null && Array.IndexOf(previous, codes[i]) >= 0);
            if (!listed) Dictionary.Postings(codes[i]).Add(node);
        }
    }

    protected override void ClearValue(int node)
    {
        _elements -= (Lists[node]?.Length ?? 0) + 6;
        Lists.Set(node, null);
    }

    protected override bool IsEmptyList(int node) => Lists[node]!.Length == 0;

    protected override void CountValues(int node, int delta)
    {
        // A node counts once per distinct code: the count is of nodes a match on that keyword passes.
        int[] codes = Lists[node]!;
        for (int i = 0; i < codes.Length; i++)
            if (Array.IndexOf(codes, codes[i], 0, i) < 0) Dictionary.CountLive(codes[i], delta);
    }
}
