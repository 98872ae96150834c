using AnnServer.Core.Payloads;

namespace AnnServer.Datasets.Tests;

/// <summary>The reader on Parquet written by another tool: DuckDB's writer, as a pipeline uses it (<see cref="DuckDbFixtures"/>).</summary>
public sealed class DuckDbFixtureTests
{
    private static readonly ParquetColumns EmbeddingAndIds = new("embedding", "item_id");

    private static (PointSet Points, ParquetVectorReader Reader) Load(string name, ParquetColumns columns, bool skipInvalid = false)
    {
        var reader = (ParquetVectorReader)VectorReader.Open(DuckDbFixtures.PathOf(name), parquet: columns);
        var loaded = VectorLoader.Load(reader, new VectorLoadOptions { SkipInvalid = skipInvalid });
        var points = PointSet.Create(loaded, reader.IdsPerRow?.ToArray(), null, payloadsPerRow: reader.PayloadsPerRow);
        reader.Dispose();
        return (points, reader);
    }

    [Theory]
    [InlineData("float-list.parquet")]      // FLOAT[]
    [InlineData("double-list.parquet")]     // DOUBLE[], narrowed to float
    [InlineData("fixed-array.parquet")]     // FLOAT[4]: DuckDB writes an array as a list
    public void VectorsAndIdsReadAsDuckDbWroteThem(string file)
    {
        var (points, _) = Load(file, EmbeddingAndIds);

        Assert.Equal(4, points.Vectors.Dimension);
        Assert.Equal(DuckDbFixtures.Vectors(Enumerable.Range(0, 10)), points.Vectors.Data);
        Assert.Equal(Enumerable.Range(0, 10).Select(i => (long)i), points.Ids);
        Assert.Null(points.Payloads);
    }

    [Fact]
    public void ANullVectorFailsWithOneLineNamingItsRowGroupAndRow()
    {
        var error = Assert.Throws<InvalidRowException>(() => Load("nullable-list.parquet", EmbeddingAndIds));

        Assert.Equal($"{DuckDbFixtures.PathOf("nullable-list.parquet")}: row group 0, row 3 (row 3 of the input): the vector ('embedding') is null", error.Message);
        Assert.Equal(InvalidRowReason.NullVector, error.Reason);
    }

    [Fact]
    public void ANullVectorIsSkippedAndCountedWhenAsked()
    {
        var (points, _) = Load("nullable-list.parquet", EmbeddingAndIds, skipInvalid: true);

        int[] kept = [0, 1, 2, 4, 5, 6, 7, 8, 9];
        Assert.Equal(DuckDbFixtures.Vectors(kept), points.Vectors.Data);
        Assert.Equal(kept.Select(i => (long)i), points.Ids);
        Assert.Equal(1, points.Source.SkippedNull);
        Assert.Equal([3L], points.Source.SkippedRows);
    }

    [Fact]
    public void SeveralRowGroupsAreReadInOrderAndNamedInMessages()
    {
        using var reader = VectorReader.Open(DuckDbFixtures.PathOf("row-groups.parquet"), parquet: EmbeddingAndIds);
        var row = new float[2];
        for (int i = 0; i <= 150; i++) Assert.True(reader.TryReadRow(row, out _));

        Assert.Equal(DuckDbFixtures.Vector(150, 2), row);
        Assert.EndsWith("row-groups.parquet: row group 1, row 50 (row 150 of the input)", reader.Locate(150));
        var (points, _) = Load("row-groups.parquet", EmbeddingAndIds);
        Assert.Equal(DuckDbFixtures.Vectors(Enumerable.Range(0, 300), 2), points.Vectors.Data);
        Assert.Equal(Enumerable.Range(0, 300).Select(i => (long)i), points.Ids);
    }

    [Fact]
    public void ASparkFolderOfPartsReadsInNameOrderWithItsPayload()
    {
        var (points, reader) = Load("spark-parts", EmbeddingAndIds with { Payload = [new("category", "kind")] });

        Assert.Equal(["part-00000-5f2a9c1e-c000.snappy.parquet", "part-00001-5f2a9c1e-c000.snappy.parquet"], reader.Parts.Select(Path.GetFileName));
        Assert.Equal(DuckDbFixtures.Vectors(Enumerable.Range(0, 12)), points.Vectors.Data);
        Assert.Equal(Enumerable.Range(0, 12).Select(i => (long)i), points.Ids);
        Assert.Equal(Enumerable.Range(0, 12).Select(i => new[] { "shoes", "bags", "hats" }[i % 3]), points.Payloads!.Select(p => p!.Single().Value.AsKeyword()));
        Assert.All(points.Payloads!, p => Assert.Equal("kind", p!.Single().Name));
    }

    [Fact]
    public void EveryPayloadKindReadsAsDuckDbWroteIt()
    {
        var (points, reader) = Load("payload-kinds.parquet", EmbeddingAndIds with { AllOtherColumnsAsPayload = true });

        Assert.Equal(
            [("category", PayloadKind.Keyword), ("tags", PayloadKind.KeywordList), ("tiny", PayloadKind.Int64), ("small", PayloadKind.Int64),
             ("medium", PayloadKind.Int64), ("big", PayloadKind.Int64), ("utiny", PayloadKind.Int64), ("usmall", PayloadKind.Int64),
             ("uint", PayloadKind.Int64), ("sizes", PayloadKind.Int64List), ("price", PayloadKind.Double), ("score", PayloadKind.Double),
             ("sponsored", PayloadKind.Bool), ("locale", PayloadKind.Keyword)],
            reader.PayloadFields.Select(f => (f.Field, f.Kind)));
        for (int i = 0; i < 10; i++)
            Assert.Equal(DuckDbFixtures.ExpectedPayload(i).ToList(), points.Payloads![i]!.ToList());
    }

    [Fact]
    public void ANamedColumnFillsTheFieldItIsGiven()
    {
        var columns = EmbeddingAndIds with { Payload = [new("locale", "lang"), new("sizes", "sizes")] };

        var (points, _) = Load("payload-kinds.parquet", columns);

        Assert.Equal([new("lang", "fr"), new PayloadField("sizes", PayloadValue.Int64s(1, 2))], points.Payloads![1]!.ToList());
        Assert.Equal([new PayloadField("lang", "fr")], points.Payloads![7]!.ToList()); // sizes is null in row 7: the field is absent
    }

    [Fact]
    public void KeywordsOfAColumnAreOneStringEach()
    {
        var (points, _) = Load("payload-kinds.parquet", EmbeddingAndIds with { Payload = [new("locale", "locale")] });

        Assert.Same(points.Payloads![0]!.Single().Value.AsKeyword(), points.Payloads![3]!.Single().Value.AsKeyword());
    }

    [Theory]
    [InlineData("created", "date")]
    [InlineData("seen", "timestamp")]
    [InlineData("amount", "decimal")]
    [InlineData("huge", "uint64")]
    [InlineData("weights", "list<double>")]
    [InlineData("attrs", "struct")]
    [InlineData("props", "map")]
    [InlineData("raw", "bytearray")]
    public void AColumnOfAnotherTypeIsRefusedNamingItAndItsType(string column, string type)
    {
        var columns = EmbeddingAndIds with { Payload = [new(column, column)] };

        var error = Assert.Throws<InvalidDataException>(() => VectorReader.Open(DuckDbFixtures.PathOf("payload-unsupported.parquet"), parquet: columns));

        Assert.Contains($"payload-unsupported.parquet: payload column '{column}' is {type}, which is not read as a payload field; "
            + "payload columns must be string, bool, int8 to int64, uint8 to uint32, float, double, or a list of strings or of those integers", error.Message);
    }

    [Fact]
    public void AllOtherColumnsRefuseTheFirstOfAnotherType()
    {
        var error = Assert.Throws<InvalidDataException>(() => VectorReader.Open(DuckDbFixtures.PathOf("payload-unsupported.parquet"),
            parquet: EmbeddingAndIds with { AllOtherColumnsAsPayload = true }));

        Assert.Contains("payload column 'created' is date", error.Message);
    }

    [Fact]
    public void AMissingPayloadColumnListsTheColumnsPresent()
    {
        var error = Assert.Throws<InvalidDataException>(() => VectorReader.Open(DuckDbFixtures.PathOf("float-list.parquet"),
            parquet: EmbeddingAndIds with { Payload = [new("color", "color")] }));

        Assert.EndsWith("float-list.parquet: no payload column 'color'; the columns are item_id (int64), embedding (list<float>)", error.Message);
    }

    [Fact]
    public void ANaNPayloadValueFailsWithOneLineNamingItsRow()
    {
        var columns = EmbeddingAndIds with { Payload = [new("score", "score")] };

        var error = Assert.Throws<InvalidRowException>(() => Load("bad-rows.parquet", columns));

        Assert.EndsWith("bad-rows.parquet: row group 0, row 2 (row 2 of the input): payload column 'score' is NaN; write null for a missing value", error.Message);
        Assert.Equal(InvalidRowReason.InvalidPayload, error.Reason);
    }

    [Fact]
    public void BadRowsAreSkippedAndCountedByKindWithTheirPayloadsLinedUp()
    {
        var columns = EmbeddingAndIds with { Payload = [new("score", "score")] };

        var (points, _) = Load("bad-rows.parquet", columns, skipInvalid: true);

        Assert.Equal([0L, 1, 3, 5], points.Ids);             // row 2: NaN score; row 4: id 1 again
        Assert.Equal([0.0, 1, 3, 5], points.Payloads!.Select(p => p!.Single().Value.AsDouble()));
        Assert.Equal(1, points.Source.SkippedInvalidPayload);
        Assert.Equal(1, points.Source.SkippedDuplicateId);
    }

    [Fact]
    public void PartsThatDisagreeOnThePayloadColumnsAreRefused()
    {
        using var folder = new TempFolder();
        File.Copy(DuckDbFixtures.PathOf("payload-kinds.parquet"), folder.File("part-00000.parquet"));
        File.Copy(DuckDbFixtures.PathOf("float-list.parquet"), folder.File("part-00001.parquet"));

        var error = Assert.Throws<InvalidDataException>(() => VectorReader.Open(folder.Path, parquet: EmbeddingAndIds with { AllOtherColumnsAsPayload = true }));

        Assert.Equal($"{folder.File("part-00001.parquet")}: has no payload column for field 'category', which {folder.File("part-00000.parquet")} fills from 'category'", error.Message);
    }
}
