namespace AnnServer.Datasets.Tests;

public sealed class ParquetTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private static readonly ParquetColumns EmbeddingAndIds = new("embedding", "item_id");

    private static float[]?[] Rows(int count, int dimension, int seed = 1)
    {
        var vectors = Synthetic.Vectors(count, dimension, seed);
        return Enumerable.Range(0, count).Select(i => (float[]?)vectors.Row(i).ToArray()).ToArray();
    }

    private static PointSet Load(string path, ParquetColumns columns, bool skipInvalid = false)
    {
        using var reader = VectorReader.Open(path, parquet: columns);
        var loaded = VectorLoader.Load(reader, new VectorLoadOptions { SkipInvalid = skipInvalid });
        long[]? ids = ((ParquetVectorReader)reader).IdsPerRow?.ToArray();
        return PointSet.Create(loaded, ids, null);
    }

    private static float[] Flat(IEnumerable<float[]?> rows) => rows.SelectMany(r => r!).ToArray();

    [Fact]
    public void SingleFileWithSeveralRowGroupsRoundTrips()
    {
        // 2,500 rows in groups of 1,000: batches of 1,024 rows cross no group, and the last group is short.
        var rows = Rows(2500, 8);
        long?[] ids = Enumerable.Range(0, 2500).Select(i => (long?)(1_000_000 + 7L * i)).ToArray();
        string path = _folder.File("items.parquet");
        new ParquetFile(RowsPerGroup: 1000).Write(path, rows, ids);

        var points = Load(path, EmbeddingAndIds);

        Assert.Equal(VectorFormat.Parquet, points.Source.Format);
        Assert.Equal(8, points.Vectors.Dimension);
        Assert.Equal(Flat(rows), points.Vectors.Data);
        Assert.Equal(ids.Select(i => i!.Value), points.Ids);
    }

    [Fact]
    public void FolderOfPartsIsReadInNameOrderAndSideFilesAreIgnored()
    {
        string folder = Path.Combine(_folder.Path, "items");
        Directory.CreateDirectory(folder);
        var first = Rows(30, 4, seed: 1);
        var second = Rows(20, 4, seed: 2);
        // Written second-part first, so that name order and creation order differ.
        new ParquetFile(IdColumn: null, RowsPerGroup: 7).Write(Path.Combine(folder, "part-00001-c000.snappy.parquet"), second);
        new ParquetFile(IdColumn: null, RowsPerGroup: 7).Write(Path.Combine(folder, "part-00000-c000.snappy.parquet"), first);
        File.WriteAllText(Path.Combine(folder, "_SUCCESS"), "");
        File.WriteAllText(Path.Combine(folder, ".part-00000-c000.snappy.parquet.crc"), "crc");
        File.WriteAllText(Path.Combine(folder, "_committed_123"), "{}");

        var points = Load(folder, new ParquetColumns("embedding"));

        Assert.Equal(Flat(first.Concat(second)), points.Vectors.Data);
        Assert.Equal(Enumerable.Range(0, 50).Select(i => (long)i), points.Ids); // the row number across parts
    }

    [Fact]
    public void EmptyPartsAreReadAsNoRows()
    {
        // Spark writes an empty part for an empty partition of the data.
        string folder = Path.Combine(_folder.Path, "items");
        Directory.CreateDirectory(folder);
        new ParquetFile(IdColumn: null).Write(Path.Combine(folder, "part-00000.parquet"), []);
        var rows = Rows(5, 3);
        new ParquetFile(IdColumn: null).Write(Path.Combine(folder, "part-00001.parquet"), rows);
        new ParquetFile(IdColumn: null).Write(Path.Combine(folder, "part-00002.parquet"), []);

        var points = Load(folder, new ParquetColumns("embedding"));

        Assert.Equal(Flat(rows), points.Vectors.Data);
        Assert.Equal(new long[] { 0, 1, 2, 3, 4 }, points.Ids);
    }

    [Fact]
    public void SparkLegacyBagLayoutIsRead()
    {
        // spark.sql.parquet.writeLegacyFormat=true: three levels still, named bag and array, elements optional.
        string path = _folder.File("spark-legacy.parquet");
        using (var element = new ParquetSharp.Schema.PrimitiveNode("array", ParquetSharp.Repetition.Optional, ParquetSharp.LogicalType.None(), ParquetSharp.PhysicalType.Float))
        using (var bag = new ParquetSharp.Schema.GroupNode("bag", ParquetSharp.Repetition.Repeated, [element], null!))
        using (var list = new ParquetSharp.Schema.GroupNode("embedding", ParquetSharp.Repetition.Optional, [bag], ParquetSharp.LogicalType.List()))
        using (var schema = new ParquetSharp.Schema.GroupNode("spark_schema", ParquetSharp.Repetition.Required, [list], null!))
        using (var properties = new ParquetSharp.WriterPropertiesBuilder().Build())
        using (var writer = new ParquetSharp.ParquetFileWriter(path, schema, properties))
        {
            using (var group = writer.AppendRowGroup())
            using (var column = group.NextColumn().LogicalWriter<float?[]?>())
                column.WriteBatch([[1f, 2f], [3f, 4f]]);
            writer.Close();
        }

        var points = Load(path, new ParquetColumns("embedding"));

        Assert.Equal(new[] { 1f, 2f, 3f, 4f }, points.Vectors.Data);
    }

    [Fact]
    public void LegacyTwoLevelListsAreRefusedByName()
    {
        // Old parquet-avro and some Hive writers store list<float> as a LIST group holding a repeated float.
        string path = _folder.File("legacy.parquet");
        using (var element = new ParquetSharp.Schema.PrimitiveNode("array", ParquetSharp.Repetition.Repeated, ParquetSharp.LogicalType.None(), ParquetSharp.PhysicalType.Float))
        using (var list = new ParquetSharp.Schema.GroupNode("embedding", ParquetSharp.Repetition.Optional, [element], ParquetSharp.LogicalType.List()))
        using (var schema = new ParquetSharp.Schema.GroupNode("schema", ParquetSharp.Repetition.Required, [list], null!))
        using (var properties = new ParquetSharp.WriterPropertiesBuilder().Build())
        using (var writer = new ParquetSharp.ParquetFileWriter(path, schema, properties))
        {
            // No logical writer for this layout: the values with their levels (definition 2 = present, repetition 0 = new row).
            using (var group = writer.AppendRowGroup())
            using (var column = (ParquetSharp.ColumnWriter<float>)group.NextColumn())
                column.WriteBatch(4, [2, 2, 2, 2], [0, 1, 0, 1], [1f, 2f, 3f, 4f]);
            writer.Close();
        }

        var error = Assert.Throws<InvalidDataException>(() => Load(path, new ParquetColumns("embedding")));

        Assert.Equal($"{path}: the vector column 'embedding' is a two-level (legacy) list, which is not read; "
            + "write it in the standard three-level layout, as Spark, pyarrow and current parquet-avro do", error.Message);
    }

    [Fact]
    public void FolderIsDetectedAsParquet()
    {
        string folder = Path.Combine(_folder.Path, "items");
        Directory.CreateDirectory(folder);
        new ParquetFile().Write(Path.Combine(folder, "part-00000.parquet"), Rows(3, 2));
        Assert.Equal(VectorFormat.Parquet, VectorFormats.Detect(folder));
    }

    [Fact]
    public void ParquetFileIsDetectedByNameAndByContent()
    {
        string named = _folder.File("v.parquet");
        string unnamed = _folder.File("v.bin");
        new ParquetFile().Write(named, Rows(3, 2));
        File.Copy(named, unnamed);
        Assert.Equal(VectorFormat.Parquet, VectorFormats.Detect(named));
        Assert.Equal(VectorFormat.Parquet, VectorFormats.Detect(unnamed));
    }

    [Theory]
    [InlineData(true, false)]
    [InlineData(false, false)]
    [InlineData(true, true)]
    [InlineData(false, true)]
    public void NullableAndRequiredListsReadAlike(bool nullableList, bool nullableElements)
    {
        var rows = Rows(50, 5);
        string path = _folder.File("v.parquet");
        new ParquetFile(NullableList: nullableList, NullableElements: nullableElements, RowsPerGroup: 20).Write(path, rows);

        var points = Load(path, EmbeddingAndIds);

        Assert.Equal(Flat(rows), points.Vectors.Data);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void DoubleListsAreNarrowedToFloat(bool nullableElements)
    {
        double[][] doubles = [[0.1, -2.5, 1e-3], [3.0, 4.25, -1e10]];
        string path = _folder.File("v.parquet");
        new ParquetFile(Element: ParquetElement.Double, NullableElements: nullableElements)
            .Write(path, doubles.Select(d => (float[]?)new float[d.Length]).ToArray(), doubles: doubles);

        var points = Load(path, EmbeddingAndIds);

        Assert.Equal(doubles.SelectMany(d => d).Select(d => (float)d), points.Vectors.Data);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Float16ListsAreWidenedToFloat(bool nullableElements)
    {
        float[]?[] rows = [[0.5f, -1.25f, 65504f], [0f, 3.140625f, -0.0009765625f]]; // exact in float16
        string path = _folder.File("v.parquet");
        new ParquetFile(Element: ParquetElement.Half, NullableElements: nullableElements).Write(path, rows);

        var points = Load(path, EmbeddingAndIds);

        Assert.Equal(Flat(rows), points.Vectors.Data);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Int32IdColumnsAreRead(bool nullable)
    {
        string path = _folder.File("v.parquet");
        new ParquetFile(Int32Ids: true, NullableIds: nullable).Write(path, Rows(3, 2), [5, -9, 2_000_000_000]);

        var points = Load(path, EmbeddingAndIds);

        Assert.Equal(new long[] { 5, -9, 2_000_000_000 }, points.Ids);
    }

    [Fact]
    public void MissingVectorColumnListsTheColumnsPresent()
    {
        string path = _folder.File("v.parquet");
        new ParquetFile().Write(path, Rows(3, 2));
        var error = Assert.Throws<InvalidDataException>(() => VectorReader.Open(path, parquet: new ParquetColumns("vector")));
        Assert.Equal($"{path}: no vector column 'vector'; the columns are item_id (int64), embedding (list<float>), score (double)", error.Message);
    }

    [Fact]
    public void UnnamedVectorColumnListsTheColumnsPresent()
    {
        string path = _folder.File("v.parquet");
        new ParquetFile().Write(path, Rows(3, 2));
        var error = Assert.Throws<InvalidDataException>(() => VectorReader.Open(path));
        Assert.Equal($"{path}: name the vector column (--vector-column); the columns are item_id (int64), embedding (list<float>), score (double)", error.Message);
    }

    [Fact]
    public void MissingIdColumnListsTheColumnsPresent()
    {
        string path = _folder.File("v.parquet");
        new ParquetFile().Write(path, Rows(3, 2));
        var error = Assert.Throws<InvalidDataException>(() => VectorReader.Open(path, parquet: new ParquetColumns("embedding", "id")));
        Assert.Equal($"{path}: no id column 'id'; the columns are item_id (int64), embedding (list<float>), score (double)", error.Message);
    }

    [Fact]
    public void VectorColumnOfAnotherTypeSaysTheTypeFound()
    {
        string path = _folder.File("v.parquet");
        new ParquetFile().Write(path, Rows(3, 2));
        var error = Assert.Throws<InvalidDataException>(() => VectorReader.Open(path, parquet: new ParquetColumns("score")));
        Assert.Equal($"{path}: the vector column 'score' is double; it must be a list of float, double or float16", error.Message);
    }

    [Fact]
    public void IdColumnOfAnotherTypeSaysTheTypeFound()
    {
        string path = _folder.File("v.parquet");
        new ParquetFile().Write(path, Rows(3, 2));
        var error = Assert.Throws<InvalidDataException>(() => VectorReader.Open(path, parquet: new ParquetColumns("embedding", "embedding")));
        Assert.Equal($"{path}: the id column 'embedding' is list<float>; it must be int64 or int32", error.Message);
    }

    [Fact]
    public void NullVectorIsNamedByFileRowGroupAndRow()
    {
        var rows = Rows(12, 3);
        rows[7] = null;
        string path = _folder.File("v.parquet");
        new ParquetFile(RowsPerGroup: 5).Write(path, rows);

        var error = Assert.Throws<InvalidRowException>(() => Load(path, EmbeddingAndIds));

        Assert.Equal($"{path}: row group 1, row 2 (row 7 of the input): the vector ('embedding') is null", error.Message);
        Assert.Equal(InvalidRowReason.NullVector, error.Reason);
        Assert.Equal(7, error.Row);
    }

    [Fact]
    public void NullComponentIsNamedByFileRowGroupRowAndComponent()
    {
        string path = _folder.File("v.parquet");
        new ParquetFile(NullableElements: true, RowsPerGroup: 5).Write(path, Rows(12, 3), nullComponents: new HashSet<(int, int)> { (11, 2) });

        var error = Assert.Throws<InvalidRowException>(() => Load(path, EmbeddingAndIds));

        Assert.Equal($"{path}: row group 2, row 1 (row 11 of the input): component 2 is null", error.Message);
        Assert.Equal(InvalidRowReason.NullVector, error.Reason);
    }

    [Fact]
    public void WrongLengthIsNamedAgainstTheFirstRow()
    {
        var rows = Rows(12, 3);
        rows[6] = [1f, 2f];
        string path = _folder.File("v.parquet");
        new ParquetFile(RowsPerGroup: 5).Write(path, rows);

        var error = Assert.Throws<InvalidRowException>(() => Load(path, EmbeddingAndIds));

        Assert.Equal($"{path}: row group 1, row 1 (row 6 of the input) has dimension 2, expected 3 (the dimension of row 0)", error.Message);
        Assert.Equal(InvalidRowReason.WrongDimension, error.Reason);
    }

    [Fact]
    public void DuplicateIdIsNamedWithTheRowThatFirstUsedIt()
    {
        string path = _folder.File("v.parquet");
        new ParquetFile(RowsPerGroup: 2).Write(path, Rows(5, 3), [10, 11, 12, 11, 14]);

        var error = Assert.Throws<InvalidRowException>(() => Load(path, EmbeddingAndIds));

        Assert.Equal($"{path}: row group 1, row 1 (row 3 of the input): id 11 is already the id of row 1 of the input; ids must be unique", error.Message);
        Assert.Equal(InvalidRowReason.DuplicateId, error.Reason);
    }

    [Fact]
    public void NullIdIsNamed()
    {
        string path = _folder.File("v.parquet");
        new ParquetFile(NullableIds: true).Write(path, Rows(3, 3), [10, null, 12]);

        var error = Assert.Throws<InvalidRowException>(() => Load(path, EmbeddingAndIds));

        Assert.Equal($"{path}: row group 0, row 1 (row 1 of the input): the id ('item_id') is null", error.Message);
        Assert.Equal(InvalidRowReason.NullId, error.Reason);
    }

    [Fact]
    public void DoubleBeyondTheFloatRangeIsRefused()
    {
        double[][] doubles = [[1, 2], [3, 1e300]];
        string path = _folder.File("v.parquet");
        new ParquetFile(Element: ParquetElement.Double).Write(path, [new float[2], new float[2]], doubles: doubles);

        var error = Assert.Throws<InvalidRowException>(() => Load(path, EmbeddingAndIds));

        Assert.StartsWith($"{path}: row group 0, row 1 (row 1 of the input): component 1 is 1E+300, beyond the float range", error.Message);
        Assert.Equal(InvalidRowReason.NonFinite, error.Reason);
    }

    [Fact]
    public void NonFiniteComponentIsNamedByFileRowGroupAndRow()
    {
        var rows = Rows(4, 3);
        rows[3]![0] = float.NaN;
        string path = _folder.File("v.parquet");
        new ParquetFile(RowsPerGroup: 3).Write(path, rows);

        var error = Assert.Throws<InvalidRowException>(() => Load(path, EmbeddingAndIds));

        Assert.Equal($"{path}: row group 1, row 0 (row 3 of the input) component 0 is NaN; vectors must be finite", error.Message);
    }

    [Fact]
    public void InvalidRowsAreSkippedAndCountedWhenAsked()
    {
        var rows = Rows(10, 3);
        rows[1] = null;                 // null vector
        rows[3] = [1f, 2f];             // wrong length
        rows[5]![2] = float.PositiveInfinity;
        long?[] ids = [100, 101, 102, 103, 104, 104, 106, 102, 108, 109]; // row 5's 104 is refused for its infinity, so row 5 does not claim it;
                                                                       // row 7 reuses 102
        string path = _folder.File("v.parquet");
        new ParquetFile(RowsPerGroup: 4).Write(path, rows, ids);

        var points = Load(path, EmbeddingAndIds, skipInvalid: true);

        Assert.Equal(new long[] { 1, 3, 5, 7 }, points.Source.SkippedRows);
        Assert.Equal(1, points.Source.SkippedNull);
        Assert.Equal(1, points.Source.SkippedWrongDimension);
        Assert.Equal(1, points.Source.SkippedNonFinite);
        Assert.Equal(1, points.Source.SkippedDuplicateId);
        Assert.Equal(new long[] { 100, 102, 104, 106, 108, 109 }, points.Ids);
        Assert.Equal(Flat(new[] { 0, 2, 4, 6, 8, 9 }.Select(i => rows[i])), points.Vectors.Data);
    }

    [Fact]
    public void DimensionIsTakenFromTheFirstNonNullVector()
    {
        float[]?[] rows = [null, [1f, 2f], [3f, 4f]];
        string path = _folder.File("v.parquet");
        new ParquetFile().Write(path, rows);

        var points = Load(path, EmbeddingAndIds, skipInvalid: true);

        Assert.Equal(2, points.Vectors.Dimension);
        Assert.Equal(new long[] { 1, 2 }, points.Ids);
    }

    [Fact]
    public void FolderWithoutPartsIsRefused()
    {
        string folder = Path.Combine(_folder.Path, "empty");
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "_SUCCESS"), "");
        var error = Assert.Throws<InvalidDataException>(() => VectorReader.Open(folder, VectorFormat.Parquet, parquet: new ParquetColumns("embedding")));
        Assert.Equal($"{folder}: the folder holds no .parquet part files", error.Message);
    }

    [Fact]
    public void TruncatedPartIsNamed()
    {
        string folder = Path.Combine(_folder.Path, "items");
        Directory.CreateDirectory(folder);
        new ParquetFile().Write(Path.Combine(folder, "part-00000.parquet"), Rows(10, 3));
        string broken = Path.Combine(folder, "part-00001.parquet");
        new ParquetFile().Write(broken, Rows(10, 3));
        var bytes = File.ReadAllBytes(broken);
        File.WriteAllBytes(broken, bytes[..(bytes.Length / 2)]);

        var error = Assert.Throws<InvalidDataException>(() => VectorReader.Open(folder, parquet: new ParquetColumns("embedding")));

        Assert.StartsWith($"{broken}: not a readable Parquet file: ", error.Message);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public void ColumnsAreRefusedForOtherFormats()
    {
        string path = _folder.File("v.npy");
        Npy.WriteFloat32(path, Synthetic.Vectors(2, 2));
        Assert.Throws<ArgumentException>(() => VectorReader.Open(path, parquet: new ParquetColumns("embedding")));
    }

    [Fact]
    public void ARequiredColumnIsReadAsAPayloadFieldOfEveryRow()
    {
        // ParquetFile writes "score" as a required (non-nullable) double, and int32 ids: not DuckDB's optional columns.
        string path = _folder.File("items.parquet");
        new ParquetFile(Int32Ids: true, RowsPerGroup: 7).Write(path, Rows(20, 3), Enumerable.Range(0, 20).Select(i => (long?)(100 + i)).ToArray());

        using var reader = (ParquetVectorReader)VectorReader.Open(path, parquet: EmbeddingAndIds with { Payload = [new("score", "score"), new("item_id", "id")] });
        var loaded = VectorLoader.Load(reader);

        Assert.Equal(20, reader.PayloadsPerRow!.Count);
        Assert.Equal(new Core.Payloads.Payload { { "score", 0.0 }, { "id", 113L } }.ToList(), reader.PayloadsPerRow[13]!.ToList());
        Assert.Equal(20, loaded.Vectors.Count);
    }
}
