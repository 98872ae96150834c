namespace AnnServer.Core.Payloads;

/// <summary>
/// The payload columns of an index, one per field, by name, in the order fields first appeared. Schemaless: a field
/// gets its kind from the first value written to it, and a value of another kind is refused naming the field.
/// </summary>
/// <remarks>
/// Every method runs under the index's map lock (the writers' lock); searches read the columns they were compiled
/// against without it. Writes are validated whole before anything changes (<see cref="Validate"/>), then columns are
/// made for new fields (<see cref="AddColumns"/>) before the node is linked, so that the write at commit cannot fail.
/// </remarks>
internal sealed class PayloadStore
{
    private readonly Dictionary<string, PayloadColumn> _byName = new(StringComparer.Ordinal);
    private readonly List<PayloadColumn> _columns = [];

    public IReadOnlyList<PayloadColumn> Columns => _columns;

    public PayloadColumn? Column(string name) => _byName.GetValueOrDefault(name);

    public long MemoryBytes
    {
        get
        {
            long bytes = 0;
            foreach (var column in _columns) bytes += column.MemoryBytes;
            return bytes;
        }
    }

    /// <summary>
    /// Throws <see cref="ArgumentException"/> naming the point and field when a payload breaks a limit or gives a field a
    /// second kind (against the index's fields and the earlier payloads of the same batch). Changes nothing.
    /// </summary>
    public void Validate(IReadOnlyList<Payload?> payloads, string parameterName)
    {
        Dictionary<string, PayloadKind>? newKinds = null;
        for (int point = 0; point < payloads.Count; point++)
        {
            Payload? payload = payloads[point];
            if (payload is null) continue;
            string where = payloads.Count == 1 ? "payload" : $"payload of point {point}";
            if (payload.Count > PayloadLimits.MaxFieldsPerPoint)
                throw new ArgumentException($"{where} has {payload.Count} fields, more than the limit MaxFieldsPerPoint ({PayloadLimits.MaxFieldsPerPoint})", parameterName);
            for (int i = 0; i < payload.Count; i++)
            {
                var (name, value) = payload[i];
                ValidateFieldName(name, where, parameterName);
                for (int j = 0; j < i; j++)
                    if (payload[j].Name == name) throw new ArgumentException($"{where} gives field '{name}' twice", parameterName);
                ValidateValue(name, value, where, parameterName);

                PayloadKind? existing = _byName.TryGetValue(name, out var column) ? column.Kind
                    : newKinds is not null && newKinds.TryGetValue(name, out var kind) ? kind : null;
                if (existing is null)
                {
                    newKinds ??= new Dictionary<string, PayloadKind>(StringComparer.Ordinal);
                    newKinds[name] = value.Kind;
                    if (_columns.Count + newKinds.Count > PayloadLimits.MaxFieldsPerIndex)
                        throw new ArgumentException($"{where}: field '{name}' would be field {_columns.Count + newKinds.Count} of the index, more than the limit MaxFieldsPerIndex ({PayloadLimits.MaxFieldsPerIndex})", parameterName);
                }
                else if (existing != value.Kind)
                {
                    throw new ArgumentException($"{where}: field '{name}' holds {existing} values; a {value.Kind} value cannot be written to it", parameterName);
                }
            }
        }
    }

    /// <summary>Makes a column for each field of a validated payload the index does not have yet.</summary>
    public void AddColumns(Payload payload)
    {
        foreach (var (name, value) in payload)
        {
            if (_byName.ContainsKey(name)) continue;
            var column = PayloadColumn.Create(name, value.Kind);
            _byName.Add(name, column);
            _columns.Add(column);
        }
    }

    /// <summary>Makes an empty column of <paramref name="kind"/> for a field the index does not have yet (a field declared
    /// before any point has it, such as a linked one): later values of another kind are refused naming it.</summary>
    public void AddColumn(string name, PayloadKind kind)
    {
        if (_byName.ContainsKey(name)) return;
        var column = PayloadColumn.Create(name, kind);
        _byName.Add(name, column);
        _columns.Add(column);
    }

    /// <summary>Writes a validated payload's fields (their columns made); fields it does not name are left as they are.</summary>
    public void Write(int node, Payload payload, bool live)
    {
        foreach (var (name, value) in payload)
        {
            PayloadColumn column = _byName[name];
            bool present = column.IsPresent(node);
            if (live && present) column.CountLive(node, -1);
            column.Write(node, value);
            if (live) column.CountLive(node, +1);
        }
    }

    /// <summary>Removes the named fields from a node; returns how many it had.</summary>
    public int Remove(int node, IEnumerable<string> names, bool live)
    {
        int removed = 0;
        foreach (string name in names)
        {
            if (!_byName.TryGetValue(name, out var column) || !column.IsPresent(node)) continue;
            if (live) column.CountLive(node, -1);
            column.Clear(node);
            removed++;
        }
        return removed;
    }

    /// <summary>Removes every field of a node.</summary>
    public void Clear(int node, bool live)
    {
        foreach (var column in _columns)
        {
            if (!column.IsPresent(node)) continue;
            if (live) column.CountLive(node, -1);
            column.Clear(node);
        }
    }

    /// <summary>Adds (+1, at commit) or removes (−1, at tombstone) a node's values to or from the planner's counts.</summary>
    public void CountLive(int node, int delta)
    {
        foreach (var column in _columns)
            if (column.IsPresent(node)) column.CountLive(node, delta);
    }

    /// <summary>A node's fields in the order fields first appeared in the index; only <paramref name="fields"/> when given.</summary>
    public Payload Read(int node, IReadOnlyCollection<string>? fields)
    {
        var payload = new Payload();
        if (fields is null)
        {
            foreach (var column in _columns)
                if (column.IsPresent(node)) payload.Add(column.Name, column.Read(node));
            return payload;
        }
        foreach (string name in fields)
        {
            if (_byName.TryGetValue(name, out var column) && column.IsPresent(node)) payload.Add(name, column.Read(node));
        }
        return payload;
    }

    /// <summary>Adds a column read from a snapshot (fields are restored in their original order).</summary>
    public PayloadColumn AddRestoredColumn(string name, PayloadKind kind)
    {
        if (_byName.ContainsKey(name)) throw new InvalidOperationException($"field '{name}' is restored twice");
        var column = PayloadColumn.Create(name, kind);
        _byName.Add(name, column);
        _columns.Add(column);
        return column;
    }

    private static void ValidateFieldName(string name, string where, string parameterName)
    {
        if (string.IsNullOrEmpty(name))
            throw new ArgumentException($"{where} has a field with an empty name", parameterName);
        if (name.Length > PayloadLimits.MaxFieldNameLength)
            throw new ArgumentException($"{where}: field name '{name[..32]}…' has {name.Length} characters, more than the limit MaxFieldNameLength ({PayloadLimits.MaxFieldNameLength})", parameterName);
    }

    private static void ValidateValue(string name, PayloadValue value, string where, string parameterName)
    {
        switch (value.Kind)
        {
            case PayloadKind.Keyword:
                ValidateKeyword(name, value.AsKeyword(), where, parameterName);
                break;
            case PayloadKind.KeywordList:
                ValidateListLength(name, value.KeywordArray.Length, where, parameterName);
                foreach (string keyword in value.KeywordArray)
                {
                    if (keyword is null) throw new ArgumentException($"{where}: field '{name}' has a null keyword", parameterName);
                    ValidateKeyword(name, keyword, where, parameterName);
                }
                break;
            case PayloadKind.Int64List:
                ValidateListLength(name, value.Int64Array.Length, where, parameterName);
                break;
            case PayloadKind.Double:
                if (double.IsNaN(value.AsDouble())) throw new ArgumentException($"{where}: field '{name}' is NaN", parameterName);
                break;
            case PayloadKind.Int64 or PayloadKind.Bool:
                break;
            default:
                throw new ArgumentException($"{where}: field '{name}' has no value (a default PayloadValue)", parameterName);
        }
    }

    private static void ValidateKeyword(string name, string keyword, string where, string parameterName)
    {
        if (keyword.Length > PayloadLimits.MaxKeywordLength)
            throw new ArgumentException($"{where}: field '{name}' has a keyword of {keyword.Length} characters, more than the limit MaxKeywordLength ({PayloadLimits.MaxKeywordLength})", parameterName);
    }

    private static void ValidateListLength(string name, int length, string where, string parameterName)
    {
        if (length > PayloadLimits.MaxListLength)
            throw new ArgumentException($"{where}: field '{name}' has {length} elements, more than the limit MaxListLength ({PayloadLimits.MaxListLength})", parameterName);
    }
}
