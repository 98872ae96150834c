using AnnServer.Core.Payloads;
using ParquetSharp;
using ParquetSharp.Schema;

namespace AnnServer.Datasets;

/// <summary>Where one payload column is in a part, and the payload kind its Parquet type maps to.</summary>
internal sealed record ParquetPayloadLayout(int LeafIndex, string Column, string Field, PayloadKind Kind, string TypeName);

/// <summary>
/// Reads the payload columns of a Parquet input (<see cref="ParquetColumns.Payload"/>) a row group at a time, in the
/// batches the vector reader reads, and turns each row into a <see cref="Payload"/>.
/// </summary>
/// <remarks>
/// Types map as: string (and enum) → keyword; list&lt;string&gt; → keyword list; int8/16/32/64 and uint8/16/32 → int64;
/// list of those → int64 list; float and double → double (a float widened exactly: 0.1f reads as 0.10000000149011612);
/// bool → bool. Dictionary-encoded strings are an encoding, not a type: they read as strings. A null value leaves the
/// field out of the point's payload; null elements are left out of a list. Every other type (uint64, which may not fit,
/// decimal, dates and timestamps, binary, float16, structs, maps, lists of other types) is refused before any row is
/// read, naming the column and its type. A value past a payload limit (a keyword longer than
/// <see cref="PayloadLimits.MaxKeywordLength"/>, a list longer than <see cref="PayloadLimits.MaxListLength"/>) or a NaN
/// double is a defect of its row (<see cref="InvalidRowReason.InvalidPayload"/>).
/// </remarks>
internal sealed class ParquetPayloadReader : IDisposable
{
    private readonly Dictionary<string, KeywordInterner> _keywordsByField = new(StringComparer.Ordinal);
    private ParquetPayloadLayout[] _layouts = [];
    private KeywordInterner[] _keywords = [];
    private ColumnBatch[] _batches = [];

    /// <summary>The payload columns of one part, checked: every named column present, of a type that maps to a payload
    /// kind, no field twice.</summary>
    /// <exception cref="InvalidDataException">a missing column or one of a type that is not read; the message names it and its type.</exception>
    public static ParquetPayloadLayout[] Resolve(string file, SchemaDescriptor schema, ParquetColumns columns)
    {
        var root = schema.GroupNode;
        var wanted = new List<ParquetPayloadColumn>(columns.Payload);
        if (columns.AllOtherColumnsAsPayload)
        {
            foreach (var field in root.Fields)
            {
                if (field.Name == columns.VectorColumn || field.Name == columns.IdColumn) continue;
                if (wanted.Any(w => w.Column == field.Name)) continue;
                wanted.Add(new ParquetPayloadColumn(field.Name, field.Name));
            }
        }
        if (wanted.Count > PayloadLimits.MaxFieldsPerPoint)
            throw new InvalidDataException($"{file}: {wanted.Count} payload columns, more than the {PayloadLimits.MaxFieldsPerPoint} fields a point may have (PayloadLimits.MaxFieldsPerPoint); name fewer with --payload-column");

        string present = ParquetSchemaNodes.DescribeAll(schema);
        var layouts = new ParquetPayloadLayout[wanted.Count];
        for (int i = 0; i < wanted.Count; i++)
        {
            var (column, field) = wanted[i];
            if (column == columns.VectorColumn)
                throw new InvalidDataException($"{file}: '{column}' is the vector column; it cannot also be a payload column");
            for (int j = 0; j < i; j++)
                if (layouts[j].Field == field)
                    throw new InvalidDataException($"{file}: payload field '{field}' is filled by two columns, '{layouts[j].Column}' and '{column}'");
            var node = ParquetSchemaNodes.Field(file, root, column, "payload", present);
            int leafIndex = ParquetSchemaNodes.Leaf(schema, column, out var leaf);
            string typeName = ParquetSchemaNodes.TypeName(node);
            PayloadKind? kind = leaf is null || ParquetSchemaNodes.IsTwoLevelList(node) ? null
                : node is PrimitiveNode && leaf.MaxRepetitionLevel == 0 ? ScalarKind(leaf)
                : ParquetSchemaNodes.IsList(node) && leaf.MaxRepetitionLevel == 1 ? ScalarKind(leaf) switch
                {
                    PayloadKind.Keyword => PayloadKind.KeywordList,
                    PayloadKind.Int64 => PayloadKind.Int64List,
                    _ => null,
                }
                : null;
            if (kind is null)
                throw new InvalidDataException($"{file}: payload column '{column}' is {typeName}, which is not read as a payload field; "
                    + "payload columns must be string, bool, int8 to int64, uint8 to uint32, float, double, or a list of strings or of those integers");
            layouts[i] = new ParquetPayloadLayout(leafIndex, column, field, kind.Value, typeName);
        }
        return layouts;
    }

    /// <summary>The payload kind a primitive leaf's values map to, or null for a type that is not read.</summary>
    private static PayloadKind? ScalarKind(ColumnDescriptor leaf)
    {
        var logical = leaf.LogicalType;
        return leaf.PhysicalType switch
        {
            PhysicalType.ByteArray when logical.Type is LogicalTypeEnum.String or LogicalTypeEnum.Enum => PayloadKind.Keyword,
            PhysicalType.Boolean when logical.Type == LogicalTypeEnum.None => PayloadKind.Bool,
            PhysicalType.Int32 when logical.Type == LogicalTypeEnum.None || logical is IntLogicalType => PayloadKind.Int64,
            // uint64 is refused: half its range has no int64.
            PhysicalType.Int64 when logical.Type == LogicalTypeEnum.None || logical is IntLogicalType { IsSigned: true } => PayloadKind.Int64,
            PhysicalType.Float or PhysicalType.Double when logical.Type == LogicalTypeEnum.None => PayloadKind.Double,
            _ => null,
        };
    }

    /// <summary>Opens the payload columns of a row group (closing the previous group's); <paramref name="layouts"/> are
    /// its part's, which name the same fields with the same kinds as every other part's.</summary>
    public void Open(RowGroupReader group, ParquetPayloadLayout[] layouts)
    {
        Close();
        _layouts = layouts;
        _keywords = new KeywordInterner[layouts.Length];
        for (int i = 0; i < layouts.Length; i++)
        {
            if (!_keywordsByField.TryGetValue(layouts[i].Field, out var interner)) _keywordsByField[layouts[i].Field] = interner = new KeywordInterner();
            _keywords[i] = interner;
        }
        _batches = new ColumnBatch[layouts.Length];
        for (int i = 0; i < layouts.Length; i++)
            _batches[i] = ColumnBatch.Open(group.Column(layouts[i].LeafIndex));
    }

    /// <summary>Reads the next <paramref name="rows"/> rows of every payload column; false when one holds fewer.</summary>
    public bool Read(int rows)
    {
        foreach (var batch in _batches)
            if (batch.Read(rows) != rows) return false;
        return true;
    }

    /// <summary>Row <paramref name="row"/> of the batch as a payload (null when every column is null), or a defect.</summary>
    public Payload? Get(int row, out RowDefect? defect)
    {
        defect = null;
        Payload? payload = null;
        for (int i = 0; i < _batches.Length; i++)
        {
            var layout = _layouts[i];
            object? raw = _batches[i].Get(row);
            if (raw is null) continue;
            PayloadValue value;
            string? problem = Convert(raw, layout.Kind, _keywords[i], out value);
            if (problem is not null)
            {
                defect = new RowDefect(InvalidRowReason.InvalidPayload, $"payload column '{layout.Column}' {problem}");
                return null;
            }
            (payload ??= new Payload()).Add(layout.Field, value);
        }
        return payload;
    }

    public void Dispose() => Close();

    private void Close()
    {
        foreach (var batch in _batches) batch.Dispose();
        _batches = [];
    }

    /// <summary>Converts one non-null value of a column of <paramref name="kind"/>; a problem ("is NaN") when it breaks a limit.</summary>
    private static string? Convert(object raw, PayloadKind kind, KeywordInterner keywords, out PayloadValue value)
    {
        value = default;
        switch (kind)
        {
            case PayloadKind.Keyword:
                var text = (string)raw;
                if (text.Length > PayloadLimits.MaxKeywordLength) return TooLong(text.Length);
                value = PayloadValue.Keyword(keywords.Intern(text));
                return null;
            case PayloadKind.Int64:
                value = PayloadValue.Int64(System.Convert.ToInt64(raw));
                return null;
            case PayloadKind.Double:
                double number = System.Convert.ToDouble(raw);
                if (double.IsNaN(number)) return "is NaN; write null for a missing value";
                value = PayloadValue.Double(number);
                return null;
            case PayloadKind.Bool:
                value = PayloadValue.Bool((bool)raw);
                return null;
        }
        var elements = (Array)raw;
        int count = 0;
        foreach (object? element in elements)
            if (element is not null) count++;
        if (count > PayloadLimits.MaxListLength)
            return $"has {count} elements, more than the limit of {PayloadLimits.MaxListLength} (PayloadLimits.MaxListLength)";
        if (kind == PayloadKind.KeywordList)
        {
            var list = new string[count];
            int next = 0;
            foreach (object? element in elements)
            {
                if (element is not string keyword) continue;
                if (keyword.Length > PayloadLimits.MaxKeywordLength) return TooLong(keyword.Length);
                list[next++] = keywords.Intern(keyword);
            }
            value = PayloadValue.Keywords(list);
            return null;
        }
        var integers = new long[count];
        int at = 0;
        foreach (object? element in elements)
            if (element is not null) integers[at++] = System.Convert.ToInt64(element);
        value = PayloadValue.Int64s(integers);
        return null;
    }

    private static string TooLong(int length) =>
        $"has a keyword of {length} characters, more than the limit of {PayloadLimits.MaxKeywordLength} (PayloadLimits.MaxKeywordLength)";

    /// <summary>One string per distinct keyword of a column: a low-cardinality column (a category, a locale) repeated over
    /// millions of rows then costs its distinct values, not a string per row.</summary>
    private sealed class KeywordInterner
    {
        private readonly Dictionary<string, string> _strings = new(StringComparer.Ordinal);

        public string Intern(string value)
        {
            if (_strings.TryGetValue(value, out var known)) return known;
            _strings[value] = value;
            return value;
        }
    }

    /// <summary>One batch of one payload column, in whatever .NET type ParquetSharp maps its Parquet type to (int?, string,
    /// long?[]...): values are taken as objects, converted once per row (this is the offline build, not a query path).</summary>
    private abstract class ColumnBatch : IDisposable
    {
        public static ColumnBatch Open(ColumnReader column)
        {
            var reader = column.LogicalReader(ParquetVectorReader.BatchRows);
            return reader.Apply(new Opener());
        }

        public abstract int Read(int rows);
        public abstract object? Get(int row);
        public abstract void Dispose();

        private sealed class Opener : ILogicalColumnReaderVisitor<ColumnBatch>
        {
            public ColumnBatch OnLogicalColumnReader<TValue>(LogicalColumnReader<TValue> columnReader) => new Typed<TValue>(columnReader);
        }

        private sealed class Typed<T>(LogicalColumnReader<T> reader) : ColumnBatch
        {
            private readonly T[] _rows = new T[ParquetVectorReader.BatchRows];

            public override int Read(int rows) => reader.ReadBatch(_rows.AsSpan(0, rows));
            public override object? Get(int row) => _rows[row];
            public override void Dispose() => reader.Dispose();
        }
    }
}
