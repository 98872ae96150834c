using AnnServer.Core.Filtering;
using AnnServer.Core.Payloads;

namespace AnnServer.Core.Tests.Filtering;

/// <summary>Each condition kind on a handful of hand-made points, with exact expected ids.</summary>
public class FilterConditionTests : IDisposable
{
    private readonly HnswIndex _index = new(new HnswOptions { Dimension = 2 });

    public FilterConditionTests()
    {
        _index.Upsert(1, [1, 0], new Payload { { "color", "red" }, { "tags", PayloadValue.Keywords("a", "b") }, { "stock", 5L }, { "price", 9.99 }, { "new", true } }, [7]);
        _index.Upsert(2, [0, 1], new Payload { { "color", "blue" }, { "tags", PayloadValue.Keywords() }, { "stock", -2L }, { "price", 10.0 }, { "new", false } });
        _index.Upsert(3, [1, 1], new Payload { { "sizes", PayloadValue.Int64s(38, 40) }, { "stock", long.MaxValue } }, [8]);
        _index.Upsert(4, [2, 1], new Payload());
    }

    public void Dispose() => _index.Dispose();

    private long[] Passing(FilterClause clause) =>
        _index.Scroll(SearchFilter.Of(clause as Filter ?? Filter.All(clause)), null, 100).Ids;

    [Fact] public void KeywordMatchesAnyOfItsValues() => Assert.Equal([1, 2], Passing(new KeywordMatch("color", "red", "blue", "white")));
    [Fact] public void KeywordMatchOnAListMatchesAnyElement() => Assert.Equal([1], Passing(new KeywordMatch("tags", "b", "z")));
    [Fact] public void AKeywordNoPointHasMatchesNothing() => Assert.Empty(Passing(new KeywordMatch("color", "white")));
    [Fact] public void AFieldNoPointHasMatchesNothing() => Assert.Empty(Passing(new KeywordMatch("shape", "round")));
    [Fact] public void IntegerMatchesAnyOfItsValues() => Assert.Equal([2, 3], Passing(new IntegerMatch("stock", -2, long.MaxValue)));
    [Fact] public void IntegerMatchOnAListMatchesAnyElement() => Assert.Equal([3], Passing(new IntegerMatch("sizes", 40)));
    [Fact] public void RangeBoundsAreExclusiveOrInclusiveAsAsked() => Assert.Equal([1], Passing(new NumericRange("price") { Gte = 9.99, Lt = 10 }));
    [Fact] public void RangeOnIntegersComparesWithFractionalBounds() => Assert.Equal([1], Passing(new NumericRange("stock") { Gt = -1.5, Lt = 5.5 }));
    [Fact] public void RangeOnIntegersReachesTheLargestValue() => Assert.Equal([3], Passing(new NumericRange("stock") { Gte = 9.2e18 }));
    [Fact] public void RangeOnAListMatchesAnyElement() => Assert.Equal([3], Passing(new NumericRange("sizes") { Gt = 39 }));
    [Fact] public void AnEmptyRangeMatchesNothing() => Assert.Empty(Passing(new NumericRange("price") { Gt = 10, Lt = 10 }));
    [Fact] public void BoolMatchesItsValueOnly() => Assert.Equal([2], Passing(new BoolMatch("new", false)));
    [Fact] public void IsNullPassesPointsWithoutTheField() => Assert.Equal([3, 4], Passing(new IsNull("color")));
    [Fact] public void IsNullOfAFieldNoPointHasPassesAll() => Assert.Equal([1, 2, 3, 4], Passing(new IsNull("shape")));
    [Fact] public void IsEmptyPassesMissingAndEmptyLists() => Assert.Equal([2, 3, 4], Passing(new IsEmpty("tags")));
    [Fact] public void HasIdPassesTheIdsGiven() => Assert.Equal([2, 4], Passing(new HasId(4, 2, 99)));
    [Fact] public void NotIdPassesTheOthers() => Assert.Equal([1, 3], Passing(Filter.NotId(2, 4)));
    [Fact] public void LabelMatchReachesTheLabels() => Assert.Equal([1, 3], Passing(new LabelMatch(7, 8)));
    [Fact] public void AnEmptyFilterPassesAll() => Assert.Equal([1, 2, 3, 4], Passing(new Filter()));

    [Fact]
    public void MustShouldAndMustNotCombine() => Assert.Equal([1], Passing(new Filter(
        must: [new NumericRange("stock") { Gte = -5 }],
        should: [new KeywordMatch("color", "red"), new IntegerMatch("sizes", 38)],
        mustNot: [new HasId(3)])));

    [Fact]
    public void NestedFiltersKeepTheirMeaning() => Assert.Equal([1, 4], Passing(Filter.All(
        Filter.Any(new KeywordMatch("color", "red"), new IsNull("color")),
        Filter.None(new LabelMatch(8)))));

    [Fact]
    public void PayloadUpdatesChangeWhatPasses()
    {
        _index.SetPayload(4, new Payload { { "color", "red" } });
        _index.DeletePayloadFields(1, ["color"]);
        Assert.Equal([4], Passing(new KeywordMatch("color", "red")));
    }
}
