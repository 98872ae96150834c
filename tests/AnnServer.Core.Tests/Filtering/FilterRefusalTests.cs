using AnnServer.Core.Filtering;
using AnnServer.Core.Payloads;

namespace AnnServer.Core.Tests.Filtering;

/// <summary>Filters past a limit, or asking a field for a test its kind cannot answer, are refused with a message naming why.</summary>
public class FilterRefusalTests : IDisposable
{
    private readonly HnswIndex _index = new(new HnswOptions { Dimension = 2 });

    public FilterRefusalTests() => _index.Upsert(1, [1, 0], new Payload { { "color", "red" }, { "price", 1.5 } });

    public void Dispose() => _index.Dispose();

    private string Refusal(Filter filter) =>
        Assert.Throws<ArgumentException>(() => _index.Search([1, 0], 1, 1, SearchFilter.Of(filter))).Message;

    [Fact]
    public void TooDeepIsRefusedNamingMaxDepth()
    {
        Filter filter = Filter.All(new KeywordMatch("color", "red"));
        for (int i = 0; i < FilterLimits.MaxDepth; i++) filter = Filter.All(filter);
        Assert.Contains("MaxDepth", Refusal(filter));
    }

    [Fact]
    public void TooManyConditionsAreRefusedNamingMaxConditions() =>
        Assert.Contains("MaxConditions", Refusal(Filter.Any([.. Enumerable.Range(0, FilterLimits.MaxConditions + 1).Select(i => new IntegerMatch("n", i))])));

    [Fact]
    public void TooManyValuesAreRefusedNamingMaxValuesPerCondition() =>
        Assert.Contains("MaxValuesPerCondition", Refusal(Filter.All(new HasId([.. Enumerable.Range(0, FilterLimits.MaxValuesPerCondition + 1).Select(i => (long)i)]))));

    [Fact]
    public void ALongKeywordIsRefusedNamingMaxKeywordLength() =>
        Assert.Contains("MaxKeywordLength", Refusal(Filter.All(new KeywordMatch("color", new string('x', FilterLimits.MaxKeywordLength + 1)))));

    [Fact]
    public void AMatchWithoutValuesIsRefused() => Assert.Contains("no values", Refusal(Filter.All(new KeywordMatch("color"))));

    [Fact]
    public void AConditionOnAFieldOfAnotherKindIsRefusedNamingTheField()
    {
        string message = Refusal(Filter.All(new KeywordMatch("price", "cheap")));
        Assert.Contains("'price'", message);
        Assert.Contains("Double", message);
    }

    [Fact]
    public void ANaNBoundIsRefused() => Assert.Contains("NaN", Refusal(Filter.All(new NumericRange("price") { Lt = double.NaN })));

    [Fact]
    public void CountAndScrollRefuseBadFiltersToo()
    {
        var bad = SearchFilter.Of(Filter.All(new BoolMatch("color", true)));
        Assert.Throws<ArgumentException>(() => _index.CountMatching(bad));
        Assert.Throws<ArgumentException>(() => _index.Scroll(bad, null, 10));
        Assert.Contains("MaxScrollLimit", Assert.Throws<ArgumentException>(() => _index.Scroll(null, null, HnswIndex.MaxScrollLimit + 1)).Message);
    }
}
