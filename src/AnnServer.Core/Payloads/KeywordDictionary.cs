namespace AnnServer.Core.Payloads;

/// <summary>
/// A keyword field's dictionary: each distinct string gets the next int32 code, for good (codes are never reused, so a
/// compiled filter's codes stay valid while writes go on; a rebuild by compaction starts a fresh dictionary). Also keeps
/// how many live nodes carry each code, for the planner, and the nodes given each code (<see cref="NodePostings"/>),
/// for the exact scan. Used under the index's map lock, except <see cref="Postings"/>' lists, which scans read without it.
/// </summary>
internal sealed class KeywordDictionary
{
    private readonly Dictionary<string, int> _codes = new(StringComparer.Ordinal);
    private readonly List<string> _values = [];
    private readonly List<int> _liveCounts = [];
    private readonly List<NodePostings> _postings = [];

    public int Count => _values.Count;

    public string this[int code] => _values[code];

    public int GetOrAdd(string value)
    {
        if (_codes.TryGetValue(value, out int code)) return code;
        code = _values.Count;
        _codes.Add(value, code);
        _values.Add(value);
        _liveCounts.Add(0);
        _postings.Add(new NodePostings());
        return code;
    }

    public bool TryGetCode(string value, out int code) => _codes.TryGetValue(value, out code);

    public int LiveCount(int code) => _liveCounts[code];

    public void CountLive(int code, int delta) => _liveCounts[code] += delta;

    /// <summary>The nodes ever given this code (see <see cref="NodePostings"/>).</summary>
    public NodePostings Postings(int code) => _postings[code];

    public long MemoryBytes
    {
        get
        {
            long bytes = 0;
            foreach (string value in _values) bytes += 24 + 2L * value.Length + 24; // the string, its dictionary entry and list slots
            foreach (var postings in _postings) bytes += postings.MemoryBytes;
            return bytes;
        }
    }
}
