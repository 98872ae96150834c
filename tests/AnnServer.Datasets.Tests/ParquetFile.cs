using ParquetSharp;
using ParquetSharp.Schema;

namespace AnnServer.Datasets.Tests;

/// <summary>Element types a pipeline writes vectors in.</summary>
public enum ParquetElement { Float, Double, Half }

/// <summary>
/// Writes Parquet files the way pipelines do: an int64 (or int32) id column, a list column of vectors in the standard
/// three-level layout (Spark and pyarrow write <c>name.list.element</c>; pyarrow writes fixed_size_list the same way), and
/// a double "score" column standing for the payload columns. Nullability of the list and of its elements is chosen per file.
/// </summary>
public sealed record ParquetFile(
    string VectorColumn = "embedding",
    ParquetElement Element = ParquetElement.Float,
    bool NullableList = true,
    bool NullableElements = false,
    string? IdColumn = "item_id",
    bool Int32Ids = false,
    bool NullableIds = false,
    int RowsPerGroup = 1000)
{
    /// <summary>Writes one row per vector (null: a null vector; a null component in <paramref name="nullComponents"/>).</summary>
    public void Write(string path, IReadOnlyList<float[]?> vectors, IReadOnlyList<long?>? ids = null, IReadOnlyList<double[]>? doubles = null,
        ISet<(int Row, int Component)>? nullComponents = null)
    {
        var fields = new List<Node>();
        if (IdColumn is not null)
            fields.Add(new PrimitiveNode(IdColumn, NullableIds ? Repetition.Optional : Repetition.Required, LogicalType.None(),
                Int32Ids ? PhysicalType.Int32 : PhysicalType.Int64));
        var element = Element switch
        {
            ParquetElement.Float => new PrimitiveNode("element", ElementRepetition, LogicalType.None(), PhysicalType.Float),
            ParquetElement.Double => new PrimitiveNode("element", ElementRepetition, LogicalType.None(), PhysicalType.Double),
            _ => new PrimitiveNode("element", ElementRepetition, LogicalType.Float16(), PhysicalType.FixedLenByteArray, 2),
        };
        fields.Add(new GroupNode(VectorColumn, NullableList ? Repetition.Optional : Repetition.Required,
            [new GroupNode("list", Repetition.Repeated, [element], null!)], LogicalType.List()));
        fields.Add(new PrimitiveNode("score", Repetition.Required, LogicalType.None(), PhysicalType.Double));
        using var schema = new GroupNode("schema", Repetition.Required, fields, null!);
        using var properties = new WriterPropertiesBuilder().Compression(Compression.Snappy).Build();
        using var writer = new ParquetFileWriter(path, schema, properties);
        for (int start = 0; start < vectors.Count || start == 0; start += RowsPerGroup)
        {
            int count = Math.Min(RowsPerGroup, vectors.Count - start);
            using var group = writer.AppendRowGroup();
            if (IdColumn is not null) WriteIds(group, Enumerable.Range(start, count).Select(i => ids is null ? i : ids[i]).ToArray());
            WriteVectors(group, start, count, vectors, doubles, nullComponents);
            using (var score = group.NextColumn().LogicalWriter<double>()) score.WriteBatch(new double[count]);
            if (vectors.Count == 0) break;
        }
        writer.Close();
    }

    private Repetition ElementRepetition => NullableElements ? Repetition.Optional : Repetition.Required;

    private void WriteIds(RowGroupWriter group, long?[] ids)
    {
        using var column = group.NextColumn();
        switch (Int32Ids, NullableIds)
        {
            case (false, false): { using var w = column.LogicalWriter<long>(); w.WriteBatch(ids.Select(i => i!.Value).ToArray()); break; }
            case (false, true): { using var w = column.LogicalWriter<long?>(); w.WriteBatch(ids); break; }
            case (true, false): { using var w = column.LogicalWriter<int>(); w.WriteBatch(ids.Select(i => (int)i!.Value).ToArray()); break; }
            default: { using var w = column.LogicalWriter<int?>(); w.WriteBatch(ids.Select(i => (int?)i).ToArray()); break; }
        }
    }

    private void WriteVectors(RowGroupWriter group, int start, int count, IReadOnlyList<float[]?> vectors, IReadOnlyList<double[]>? doubles,
        ISet<(int Row, int Component)>? nullComponents)
    {
        using var column = group.NextColumn();
        bool IsNull(int row, int component) => nullComponents?.Contains((row, component)) == true;
        double Value(int row, int component) => doubles is not null ? doubles[row][component] : vectors[row]![component];
        T[]? Row<T>(int row, Func<int, T> convert) =>
            vectors[row] is null ? null : Enumerable.Range(0, doubles?[row].Length ?? vectors[row]!.Length).Select(convert).ToArray();
        var rows = Enumerable.Range(start, count);
        switch (Element, NullableElements)
        {
            case (ParquetElement.Float, false): { using var w = column.LogicalWriter<float[]?>(); w.WriteBatch(rows.Select(r => Row(r, c => (float)Value(r, c))).ToArray()); break; }
            case (ParquetElement.Float, true): { using var w = column.LogicalWriter<float?[]?>(); w.WriteBatch(rows.Select(r => Row(r, c => IsNull(r, c) ? null : (float?)Value(r, c))).ToArray()); break; }
            case (ParquetElement.Double, false): { using var w = column.LogicalWriter<double[]?>(); w.WriteBatch(rows.Select(r => Row(r, c => Value(r, c))).ToArray()); break; }
            case (ParquetElement.Double, true): { using var w = column.LogicalWriter<double?[]?>(); w.WriteBatch(rows.Select(r => Row(r, c => IsNull(r, c) ? null : (double?)Value(r, c))).ToArray()); break; }
            case (ParquetElement.Half, false): { using var w = column.LogicalWriter<Half[]?>(); w.WriteBatch(rows.Select(r => Row(r, c => (Half)Value(r, c))).ToArray()); break; }
            default: { using var w = column.LogicalWriter<Half?[]?>(); w.WriteBatch(rows.Select(r => Row(r, c => IsNull(r, c) ? null : (Half?)Value(r, c))).ToArray()); break; }
        }
    }
}
