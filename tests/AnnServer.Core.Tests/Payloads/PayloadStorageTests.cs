using AnnServer.Core.Storage;
using AnnServer.Core.Payloads;

namespace AnnServer.Core.Tests.Payloads;

public class PayloadStorageTests
{
    private static HnswIndex NewIndex() => new(new HnswOptions { Dimension = 4 });

    private static Payload Sample() => new()
    {
        { "color", "red" },
        { "tags", PayloadValue.Keywords("a", "b", "a") },
        { "stock", 12L },
        { "sizes", PayloadValue.Int64s(38, 40) },
        { "price", 9.5 },
        { "sponsored", false },
        { "empty", PayloadValue.Int64s() },
    };

    [Fact]
    public void EveryKindReadsBackAsWritten()
    {
        using var index = NewIndex();
        index.Upsert(1, [1, 2, 3, 4], Sample());

        Assert.True(index.TryGetPayload(1, out var payload));

        Assert.Equal(Sample().ToList(), payload.ToList());
    }

    [Fact]
    public void ChosenFieldsAreReadInTheOrderAsked()
    {
        using var index = NewIndex();
        index.Upsert(1, [1, 2, 3, 4], Sample());

        Assert.True(index.TryGetPayload(1, out var payload, ["price", "nothing", "color"]));

        Assert.Equal([new PayloadField("price", 9.5), new PayloadField("color", "red")], payload.ToList());
    }

    [Fact]
    public void AValueOfAnotherKindIsRefusedNamingTheFieldAndChangesNothing()
    {
        using var index = NewIndex();
        index.Upsert(1, [1, 2, 3, 4], new Payload { { "price", 9.5 } });

        var error = Assert.Throws<ArgumentException>(() => index.Upsert(2, [1, 2, 3, 4], new Payload { { "color", "blue" }, { "price", 10L } }));

        Assert.Contains("'price'", error.Message);
        Assert.False(index.Contains(2));
        Assert.Null(index.Payloads.Column("color"));
    }

    [Fact]
    public void TwoKindsForOneNewFieldInOneBatchAreRefused()
    {
        using var index = NewIndex();
        var error = Assert.Throws<ArgumentException>(() => index.UpsertMany(new float[8], new long[] { 1, 2 }, null,
            [new Payload { { "f", 1L } }, new Payload { { "f", "one" } }]));
        Assert.Contains("'f'", error.Message);
        Assert.Equal(0, index.Count);
        Assert.Empty(index.Payloads.Columns);
    }

    [Theory]
    [InlineData("keyword")]
    [InlineData("list")]
    [InlineData("name")]
    [InlineData("nan")]
    [InlineData("fields")]
    public void PayloadsPastALimitAreRefusedNamingIt(string what)
    {
        using var index = NewIndex();
        Payload payload = what switch
        {
            "keyword" => new() { { "k", new string('x', PayloadLimits.MaxKeywordLength + 1) } },
            "list" => new() { { "l", PayloadValue.Int64s(new long[PayloadLimits.MaxListLength + 1]) } },
            "name" => new() { { new string('n', PayloadLimits.MaxFieldNameLength + 1), 1L } },
            "nan" => new() { { "d", double.NaN } },
            _ => new Payload(Enumerable.Range(0, PayloadLimits.MaxFieldsPerPoint + 1).Select(i => new PayloadField($"f{i}", (long)i))),
        };
        string expected = what switch
        {
            "keyword" => "MaxKeywordLength", "list" => "MaxListLength", "name" => "MaxFieldNameLength", "nan" => "NaN", _ => "MaxFieldsPerPoint",
        };
        var error = Assert.Throws<ArgumentException>(() => index.Upsert(1, [1, 2, 3, 4], payload));
        Assert.Contains(expected, error.Message);
        Assert.Equal(0, index.Count);
    }

    [Fact]
    public void AnUpsertReplacesTheWholePayload()
    {
        using var index = NewIndex();
        index.Upsert(1, [1, 2, 3, 4], Sample());
        index.Upsert(1, [1, 2, 3, 4], new Payload { { "color", "blue" } });

        Assert.True(index.TryGetPayload(1, out var payload));
        Assert.Equal([new PayloadField("color", "blue")], payload.ToList());
    }

    [Fact]
    public void CountsFollowInsertsReplacesAndDeletes()
    {
        using var index = NewIndex();
        index.Upsert(1, [1, 2, 3, 4], new Payload { { "color", "red" } });
        index.Upsert(2, [1, 2, 3, 5], new Payload { { "color", "red" } });
        index.Upsert(2, [1, 2, 3, 5], new Payload { { "color", "blue" } });
        index.Delete(1);

        var column = (KeywordColumn)index.Payloads.Column("color")!;
        Assert.True(column.Dictionary.TryGetCode("red", out int red));
        Assert.True(column.Dictionary.TryGetCode("blue", out int blue));
        Assert.Equal(0, column.Dictionary.LiveCount(red));
        Assert.Equal(1, column.Dictionary.LiveCount(blue));
        Assert.Equal(1, column.LivePresent);
    }

    [Fact]
    public void ColumnsReadDefaultsBeyondWhatWasWritten()
    {
        var column = new SparseChunkedArray<long>();
        column.Set(100_000, 7);
        Assert.Equal(7, column[100_000]);
        Assert.Equal(0, column[5]);
        Assert.Equal(0, column[int.MaxValue]);
    }
}
