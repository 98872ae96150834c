namespace AnnServer.Core.Payloads;

/// <summary>
/// A point's payload as a caller gives it or reads it back: fields in the order given, each a name and a typed value.
/// No schema: a field of the index takes its kind from the first value ever written to it.
/// </summary>
/// <example><code>var payload = new Payload { { "color", "red" }, { "price", 12.5 }, { "tags", PayloadValue.Int64s(3, 7) } };</code></example>
public sealed class Payload : IReadOnlyList<PayloadField>
{
    private readonly List<PayloadField> _fields;

    public Payload() => _fields = [];

    public Payload(IEnumerable<PayloadField> fields) => _fields = [.. fields];

    public int Count => _fields.Count;
    public PayloadField this[int index] => _fields[index];

    /// <summary>Appends a field (validated, with the index's limits, when the payload is written).</summary>
    public void Add(string name, PayloadValue value) => _fields.Add(new PayloadField(name, value));

    public bool TryGetValue(string name, out PayloadValue value)
    {
        foreach (var field in _fields)
        {
            if (field.Name != name) continue;
            value = field.Value;
            return true;
        }
        value = default;
        return false;
    }

    public IEnumerator<PayloadField> GetEnumerator() => _fields.GetEnumerator();
    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

    public override string ToString() => "{" + string.Join(", ", _fields.Select(f => $"{f.Name}: {f.Value}")) + "}";
}
