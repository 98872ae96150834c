using AnnServer.Core.Payloads;
using ParquetSharp;
using ParquetSharp.Schema;

namespace AnnServer.Datasets;

/// <summary>
/// Reads vectors from Parquet: one file, or a folder of part files (<see cref="ParquetParts"/>), row group by row group in
/// batches of <see cref="BatchRows"/> rows, so memory holds one batch, never a file. The vector column is a top-level list
/// (or fixed_size_list, which Parquet stores as a list) of float, double (narrowed to float; a value beyond the float range
/// is refused) or float16; the optional id column is int64 or int32, and without one a row's id is its number across all
/// parts, from 0. The dimension is the length of the first non-null vector. Payload columns, when named
/// (<see cref="ParquetColumns.Payload"/>), are read in the same batches into one <see cref="Payload"/> per row
/// (<see cref="ParquetPayloadReader"/> has the type mapping).
/// </summary>
/// <remarks>
/// Library: ParquetSharp (Apache Arrow's C++ reader behind P/Invoke), not the fully managed Parquet.Net. On 1,000,000 × 128
/// list&lt;float&gt; (516 MB, 10 row groups, snappy), reading the whole file row group by row group, 3 alternated runs each:
/// ParquetSharp 0.67–1.33 s with a 176 MB peak working set, Parquet.Net 6.1 1.56–2.54 s with 0.93–1.38 GB (its per-column
/// buffers are garbage the GC keeps until a gen-2 collection; forcing one per row group brings it to 442 MB). ParquetSharp also
/// hands over a list column as one array per row with nulls explicit, where Parquet.Net 6 gives flat values plus repetition
/// and definition levels to decode by hand, and it maps FLOAT16 to <see cref="Half"/>. Its native library ships in the package
/// for linux-x64/arm64, macOS and Windows. Figures and commands: bench/parquet-compare, bench/README.md.
/// </remarks>
public sealed class ParquetVectorReader : VectorReader
{
    /// <summary>Rows per batch: a few hundred KB of vectors at 128-d, enough to amortise the native calls.</summary>
    public const int BatchRows = 1024;

    private readonly ParquetColumns _columns;
    private readonly IReadOnlyList<string> _parts;
    private readonly ColumnLayout[] _layouts;
    private readonly List<long>? _ids;
    private readonly Dictionary<long, long>? _firstRowOfId;
    private readonly List<Payload?>? _payloads;
    private readonly ParquetPayloadReader? _payloadReader;

    // Where the cursor is: part, row group, rows of the group consumed, the current batch.
    private int _part = -1;
    private ParquetFileReader? _file;
    private int _group;
    private int _groupCount;
    private RowGroupReader? _groupReader;
    private long _groupRows;
    private long _groupRowsRead;
    private VectorBatch? _vectors;
    private IdBatch? _idBatch;
    private int _batchCount;
    private int _batchNext;

    // Where the last row came from, for messages.
    private string _lastFile = "";
    private int _lastGroup;
    private long _lastRowInGroup;

    /// <exception cref="InvalidDataException">no vector column named, a missing column (the message lists those present),
    /// a column of the wrong type, or an input without a non-null vector.</exception>
    public ParquetVectorReader(string path, ParquetColumns? columns) : base(path)
    {
        _parts = ParquetParts.List(path);
        if (_parts.Count == 0)
            throw new InvalidDataException($"{path}: the folder holds no .parquet part files");
        _columns = columns ?? new ParquetColumns(null);
        _layouts = new ColumnLayout[_parts.Count];
        long rows = 0;
        for (int i = 0; i < _parts.Count; i++)
        {
            using var file = OpenFile(_parts[i]);
            _layouts[i] = ColumnLayout.Resolve(_parts[i], file.FileMetaData.Schema, _columns);
            rows += file.FileMetaData.NumRows;
        }
        CheckPayloadColumnsAgree();
        ExpectedRows = rows;
        if (_columns.ReadsPayload)
        {
            _payloadReader = new ParquetPayloadReader();
            _payloads = new List<Payload?>((int)Math.Min(rows, 1 << 24));
        }
        Dimension = FindDimension();
        if (_columns.IdColumn is not null)
        {
            _ids = new List<long>((int)Math.Min(rows, 1 << 24));
            _firstRowOfId = new Dictionary<long, long>((int)Math.Min(rows, 1 << 24));
        }
    }

    public override VectorFormat Format => VectorFormat.Parquet;

    /// <summary>The part files read, in order (the file itself for a single file).</summary>
    public IReadOnlyList<string> Parts => _parts;

    /// <summary>With an id column: the id of every row read so far, skipped rows included (a null id reads as 0), so that
    /// <see cref="PointSet.Create"/> can line them up with the kept vectors. Null without an id column.</summary>
    public IReadOnlyList<long>? IdsPerRow => _ids;

    /// <summary>With payload columns: the payload of every row read so far, skipped rows included (null for a row whose
    /// payload columns are all null, or whose row is unusable), to line up with the kept vectors like <see cref="IdsPerRow"/>.
    /// Null without payload columns.</summary>
    public IReadOnlyList<Payload?>? PayloadsPerRow => _payloads;

    /// <summary>The payload fields read, in order, with the column each comes from and its kind (empty without payload columns).</summary>
    public IReadOnlyList<(string Column, string Field, PayloadKind Kind)> PayloadFields =>
        _layouts[0].Payload.Select(p => (p.Column, p.Field, p.Kind)).ToArray();

    /// <summary>The top-level columns of the first part with their types, "item_id (int64), embedding (list&lt;float&gt;)",
    /// for a user who has not named the vector column yet.</summary>
    /// <exception cref="InvalidDataException">no parts, or the first is not readable.</exception>
    public static string DescribeColumns(string path)
    {
        var parts = ParquetParts.List(path);
        if (parts.Count == 0) throw new InvalidDataException($"{path}: the folder holds no .parquet part files");
        using var file = OpenFile(parts[0]);
        return ColumnLayout.DescribeAll(file.FileMetaData.Schema);
    }

    public override string Locate(long row) => $"{_lastFile}: row group {_lastGroup}, row {_lastRowInGroup} (row {row} of the input)";

    public override bool TryReadRow(Span<float> destination, out int rowDimension)
    {
        LastRowDefect = null;
        rowDimension = Dimension;
        while (_batchNext == _batchCount)
            if (!NextBatch()) return false;
        int i = _batchNext++;
        long row = RowsRead++;
        _lastFile = _parts[_part];
        _lastGroup = _group;
        _lastRowInGroup = _groupRowsRead - _batchCount + i;

        // Every row gets its entry, whatever its defects, so that the payloads line up with the rows.
        RowDefect? payloadDefect = null;
        if (_payloads is not null) _payloads.Add(_payloadReader!.Get(i, out payloadDefect));

        long id = row;
        if (_idBatch is not null)
        {
            if (!_idBatch.TryGet(i, out id))
            {
                _ids!.Add(0);
                LastRowDefect = new RowDefect(InvalidRowReason.NullId, $"the id ('{_columns.IdColumn}') is null");
                return true;
            }
            _ids!.Add(id);
        }

        int length = _vectors!.Length(i);
        if (length < 0)
        {
            LastRowDefect = new RowDefect(InvalidRowReason.NullVector, $"the vector ('{_columns.VectorColumn}') is null");
            return true;
        }
        if (length != Dimension)
        {
            rowDimension = length;
            return true;
        }
        if (_vectors.Copy(i, destination, out int component) is { } problem)
        {
            LastRowDefect = new RowDefect(problem.Reason, $"component {component} {problem.Problem}");
            return true;
        }
        if (payloadDefect is not null)
        {
            LastRowDefect = payloadDefect;
            return true;
        }
        // A row that the validator will refuse must not claim its id: a later row may use it.
        if (_firstRowOfId is not null && RowValidator.IndexOfNonFinite(destination) < 0 && !_firstRowOfId.TryAdd(id, row))
            LastRowDefect = new RowDefect(InvalidRowReason.DuplicateId, $"id {id} is already the id of row {_firstRowOfId[id]} of the input; ids must be unique");
        return true;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            CloseFile();
            _payloadReader?.Dispose();
        }
    }

    /// <summary>Every part must give the same payload fields the same kinds, or one field would hold two kinds.</summary>
    private void CheckPayloadColumnsAgree()
    {
        var first = _layouts[0].Payload;
        for (int part = 1; part < _parts.Count; part++)
        {
            var here = _layouts[part].Payload;
            foreach (var expected in first)
            {
                var match = here.FirstOrDefault(p => p.Field == expected.Field);
                if (match is null)
                    throw new InvalidDataException($"{_parts[part]}: has no payload column for field '{expected.Field}', which {_parts[0]} fills from '{expected.Column}'");
                if (match.Kind != expected.Kind)
                    throw new InvalidDataException($"{_parts[part]}: payload column '{match.Column}' is {match.TypeName}, but {expected.TypeName} in {_parts[0]}; every part must give a field the same type");
            }
            if (here.FirstOrDefault(p => !first.Any(f => f.Field == p.Field)) is { } extra)
                throw new InvalidDataException($"{_parts[part]}: column '{extra.Column}' would be payload field '{extra.Field}', which {_parts[0]} does not have; every part must have the same payload columns");
        }
    }

    private static ParquetFileReader OpenFile(string path)
    {
        try
        {
            return new ParquetFileReader(path);
        }
        catch (ParquetException e)
        {
            throw new InvalidDataException($"{path}: not a readable Parquet file: {FirstLine(e.Message)}", e);
        }
    }

    /// <summary>The length of the first non-null vector, read by a cursor of its own so that reading starts at row 0.</summary>
    private int FindDimension()
    {
        try
        {
            while (NextBatch())
                for (int i = 0; i < _batchCount; i++)
                {
                    int length = _vectors!.Length(i);
                    if (length < 0) continue;
                    if (length == 0)
                        throw new InvalidDataException($"{_parts[_part]}: row group {_group}, row {_groupRowsRead - _batchCount + i}: the first non-null vector is empty; the dimension is taken from it");
                    if (length > MaxDimension)
                        throw new InvalidDataException($"{_parts[_part]}: vectors of {length} components are not supported (at most {MaxDimension})");
                    return length;
                }
            throw new InvalidDataException($"{Path}: the input holds no vectors (every row's '{_columns.VectorColumn}' is null, or there are no rows)");
        }
        finally
        {
            CloseFile();
            _part = -1;
        }
    }

    /// <summary>Reads the next batch of rows, moving to the next row group or part as needed; false at the end of the input.</summary>
    private bool NextBatch()
    {
        while (_groupReader is null || _groupRowsRead == _groupRows)
        {
            CloseGroup();
            if (_file is not null && _group + 1 < _groupCount)
            {
                OpenGroup(_group + 1);
                continue;
            }
            CloseFile();
            if (_part + 1 >= _parts.Count) return false;
            _part++;
            _file = OpenFile(_parts[_part]);
            _groupCount = _file.FileMetaData.NumRowGroups;
            _group = -1;
            if (_groupCount > 0) OpenGroup(0);
        }
        int want = (int)Math.Min(BatchRows, _groupRows - _groupRowsRead);
        try
        {
            _batchCount = _vectors!.Read(want);
            if (_idBatch is not null && _idBatch.Read(want) != _batchCount)
                throw new InvalidDataException($"{_parts[_part]}: row group {_group}: the id and vector columns hold different numbers of rows");
            if (_payloadReader is not null && !_payloadReader.Read(_batchCount))
                throw new InvalidDataException($"{_parts[_part]}: row group {_group}: the payload and vector columns hold different numbers of rows");
        }
        catch (ParquetException e)
        {
            throw new InvalidDataException($"{_parts[_part]}: row group {_group}, from row {_groupRowsRead}: cannot be read: {FirstLine(e.Message)}", e);
        }
        if (_batchCount == 0)
            throw new InvalidDataException($"{_parts[_part]}: row group {_group} ends at row {_groupRowsRead}, before the {_groupRows} rows its metadata announces");
        _batchNext = 0;
        _groupRowsRead += _batchCount;
        return true;
    }

    private void OpenGroup(int group)
    {
        _group = group;
        try
        {
            _groupReader = _file!.RowGroup(group);
        }
        catch (ParquetException e)
        {
            throw new InvalidDataException($"{_parts[_part]}: row group {group} cannot be read: {FirstLine(e.Message)}", e);
        }
        _groupRows = _groupReader.MetaData.NumRows;
        _groupRowsRead = 0;
        var layout = _layouts[_part];
        _vectors = VectorBatch.Open(_groupReader.Column(layout.VectorIndex), layout.Element, layout.NullableElements);
        _idBatch = layout.IdIndex < 0 ? null : IdBatch.Open(_groupReader.Column(layout.IdIndex), layout.IdIs64, layout.NullableIds);
        _payloadReader?.Open(_groupReader, layout.Payload);
        _batchCount = _batchNext = 0;
    }

    private void CloseGroup()
    {
        _vectors?.Dispose();
        _idBatch?.Dispose();
        _groupReader?.Dispose();
        _vectors = null;
        _idBatch = null;
        _groupReader = null;
        _batchCount = _batchNext = 0;
    }

    private void CloseFile()
    {
        CloseGroup();
        _file?.Dispose();
        _file = null;
    }

    private static string FirstLine(string text) => text.Split('\n', 2)[0].Trim();

    internal enum ElementType { Float, Double, Half }

    /// <summary>Where the vector and id columns are in one part, and their types: resolved and checked before any row is read.</summary>
    private sealed record ColumnLayout(int VectorIndex, ElementType Element, bool NullableElements, int IdIndex, bool IdIs64, bool NullableIds,
        ParquetPayloadLayout[] Payload)
    {
        public static ColumnLayout Resolve(string file, SchemaDescriptor schema, ParquetColumns columns)
        {
            var root = schema.GroupNode;
            string present = DescribeAll(schema);
            if (columns.VectorColumn is null)
                throw new InvalidDataException($"{file}: name the vector column (--vector-column); the columns are {present}");
            var vectorField = Field(file, root, columns.VectorColumn, "vector", present);
            int vectorIndex = Leaf(schema, columns.VectorColumn, out var vectorLeaf);
            // ParquetSharp's list reader knows the standard three-level layout only (LIST group, repeated group, element).
            if (ParquetSchemaNodes.IsTwoLevelList(vectorField))
                throw new InvalidDataException($"{file}: the vector column '{columns.VectorColumn}' is a two-level (legacy) list, which is not read; "
                    + "write it in the standard three-level layout, as Spark, pyarrow and current parquet-avro do");
            ElementType? element = vectorLeaf is null || !IsList(vectorField) || vectorLeaf.MaxRepetitionLevel != 1 ? null : vectorLeaf.PhysicalType switch
            {
                PhysicalType.Float => ElementType.Float,
                PhysicalType.Double => ElementType.Double,
                PhysicalType.FixedLenByteArray when vectorLeaf.LogicalType.Type == LogicalTypeEnum.Float16 => ElementType.Half,
                _ => null,
            };
            if (element is null)
                throw new InvalidDataException($"{file}: the vector column '{columns.VectorColumn}' is {TypeName(vectorField)}; it must be a list of float, double or float16");

            int idIndex = -1;
            bool idIs64 = false, nullableIds = false;
            if (columns.IdColumn is not null)
            {
                var idField = Field(file, root, columns.IdColumn, "id", present);
                idIndex = Leaf(schema, columns.IdColumn, out var idLeaf);
                bool integer = idField is PrimitiveNode && idLeaf is not null && idLeaf.MaxRepetitionLevel == 0
                    && idLeaf.PhysicalType is PhysicalType.Int64 or PhysicalType.Int32
                    && idLeaf.LogicalType.Type is LogicalTypeEnum.None or LogicalTypeEnum.Int
                    && (idLeaf.LogicalType is not IntLogicalType intType || intType.IsSigned);
                if (!integer)
                    throw new InvalidDataException($"{file}: the id column '{columns.IdColumn}' is {TypeName(idField)}; it must be int64 or int32");
                idIs64 = idLeaf!.PhysicalType == PhysicalType.Int64;
                nullableIds = idField.Repetition == Repetition.Optional;
            }
            return new ColumnLayout(vectorIndex, element.Value, vectorLeaf!.SchemaNode.Repetition == Repetition.Optional, idIndex, idIs64, nullableIds,
                ParquetPayloadReader.Resolve(file, schema, columns));
        }

        public static string DescribeAll(SchemaDescriptor schema) => ParquetSchemaNodes.DescribeAll(schema);

        private static Node Field(string file, GroupNode root, string name, string role, string present) =>
            ParquetSchemaNodes.Field(file, root, name, role, present);

        private static int Leaf(SchemaDescriptor schema, string name, out ColumnDescriptor? leaf) => ParquetSchemaNodes.Leaf(schema, name, out leaf);

        private static bool IsList(Node node) => ParquetSchemaNodes.IsList(node);

        private static string TypeName(Node node) => ParquetSchemaNodes.TypeName(node);
    }

    /// <summary>A problem with one component of a vector, completing "component N ...".</summary>
    private sealed record ComponentProblem(InvalidRowReason Reason, string Problem);

    /// <summary>One batch of the vector column: each row's array as ParquetSharp hands it over, converted to float on copy.</summary>
    private abstract class VectorBatch : IDisposable
    {
        public static VectorBatch Open(ColumnReader column, ElementType element, bool nullable) => (element, nullable) switch
        {
            (ElementType.Float, false) => new Typed<float>(column),
            (ElementType.Float, true) => new Typed<float?>(column),
            (ElementType.Double, false) => new Typed<double>(column),
            (ElementType.Double, true) => new Typed<double?>(column),
            (ElementType.Half, false) => new Typed<Half>(column),
            _ => new Typed<Half?>(column),
        };

        public abstract int Read(int rows);

        /// <summary>The row's number of components, or -1 for a null vector.</summary>
        public abstract int Length(int row);

        /// <summary>Copies a row of the right length; a problem (a null component, a double beyond the float range) and its index otherwise.</summary>
        public abstract ComponentProblem? Copy(int row, Span<float> destination, out int component);

        public abstract void Dispose();

        private sealed class Typed<T>(ColumnReader column) : VectorBatch
        {
            private readonly LogicalColumnReader<T[]?> _reader = column.LogicalReader<T[]?>();
            private readonly T[]?[] _rows = new T[]?[BatchRows];

            public override int Read(int rows) => _reader.ReadBatch(_rows.AsSpan(0, rows));

            public override int Length(int row) => _rows[row]?.Length ?? -1;

            // typeof(T) tests are constants once the JIT specialises this class for a value type: one branch remains.
            public override ComponentProblem? Copy(int row, Span<float> destination, out int component)
            {
                component = -1;
                object values = _rows[row]!;
                if (typeof(T) == typeof(float))
                {
                    ((float[])values).CopyTo(destination);
                    return null;
                }
                if (typeof(T) == typeof(double))
                {
                    var doubles = (double[])values;
                    for (int i = 0; i < doubles.Length; i++)
                        if (!Narrow(doubles[i], out destination[i])) return OutOfRange(component = i, doubles[i]);
                    return null;
                }
                if (typeof(T) == typeof(Half))
                {
                    var halves = (Half[])values;
                    for (int i = 0; i < halves.Length; i++) destination[i] = (float)halves[i];
                    return null;
                }
                if (typeof(T) == typeof(float?))
                {
                    var floats = (float?[])values;
                    for (int i = 0; i < floats.Length; i++)
                    {
                        if (floats[i] is not { } value) return Null(component = i);
                        destination[i] = value;
                    }
                    return null;
                }
                if (typeof(T) == typeof(double?))
                {
                    var doubles = (double?[])values;
                    for (int i = 0; i < doubles.Length; i++)
                    {
                        if (doubles[i] is not { } value) return Null(component = i);
                        if (!Narrow(value, out destination[i])) return OutOfRange(component = i, value);
                    }
                    return null;
                }
                var nullableHalves = (Half?[])values;
                for (int i = 0; i < nullableHalves.Length; i++)
                {
                    if (nullableHalves[i] is not { } value) return Null(component = i);
                    destination[i] = (float)value;
                }
                return null;
            }

            public override void Dispose() => _reader.Dispose();

            /// <summary>False when a finite double has no finite float (|x| &gt; float.MaxValue); NaN and infinities pass
            /// through for <see cref="RowValidator"/> to judge like any other non-finite value.</summary>
            private static bool Narrow(double value, out float narrowed)
            {
                narrowed = (float)value;
                return float.IsFinite(narrowed) || !double.IsFinite(value);
            }

            private static ComponentProblem OutOfRange(int component, double value) =>
                new(InvalidRowReason.NonFinite, $"is {value:R}, beyond the float range (±{float.MaxValue:R}); vectors must be finite in float");

            private static ComponentProblem Null(int component) => new(InvalidRowReason.NullVector, "is null");
        }
    }

    /// <summary>One batch of the id column.</summary>
    private abstract class IdBatch : IDisposable
    {
        public static IdBatch Open(ColumnReader column, bool is64, bool nullable) => (is64, nullable) switch
        {
            (true, false) => new Typed<long>(column),
            (true, true) => new Typed<long?>(column),
            (false, false) => new Typed<int>(column),
            _ => new Typed<int?>(column),
        };

        public abstract int Read(int rows);

        /// <summary>False for a null id.</summary>
        public abstract bool TryGet(int row, out long id);

        public abstract void Dispose();

        private sealed class Typed<T>(ColumnReader column) : IdBatch
        {
            private readonly LogicalColumnReader<T> _reader = column.LogicalReader<T>();
            private readonly T[] _rows = new T[BatchRows];

            public override int Read(int rows) => _reader.ReadBatch(_rows.AsSpan(0, rows));

            // As in VectorBatch.Typed.Copy: constant typeof tests, no boxing per row.
            public override bool TryGet(int row, out long id)
            {
                id = 0;
                if (typeof(T) == typeof(long)) id = ((long[])(object)_rows)[row];
                else if (typeof(T) == typeof(int)) id = ((int[])(object)_rows)[row];
                else if (typeof(T) == typeof(long?)) { if (((long?[])(object)_rows)[row] is { } l) id = l; else return false; }
                else if (((int?[])(object)_rows)[row] is { } i) id = i;
                else return false;
                return true;
            }

            public override void Dispose() => _reader.Dispose();
        }
    }
}
