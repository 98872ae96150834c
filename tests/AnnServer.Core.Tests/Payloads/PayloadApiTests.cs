using AnnServer.Core.Filtering;
using AnnServer.Core.Payloads;

namespace AnnServer.Core.Tests.Payloads;

/// <summary>Reading, updating, counting and scrolling payloads through <see cref="HnswIndex"/>.</summary>
public sealed class PayloadApiTests : IDisposable
{
    private readonly HnswIndex _index = new(new HnswOptions { Dimension = 2 });

    public PayloadApiTests()
    {
        for (int i = 0; i < 100; i++)
            _index.Upsert(1000 - 7 * i, [i, i % 10], new Payload { { "n", (long)i }, { "even", i % 2 == 0 } });
    }

    public void Dispose() => _index.Dispose();

    [Fact]
    public void SetPayloadChangesFieldsWithoutReinsertingTheVector()
    {
        int nodes = _index.NodeCount;

        Assert.True(_index.SetPayload(1000, new Payload { { "n", 4200L }, { "color", "red" } }));

        Assert.Equal(nodes, _index.NodeCount);
        Assert.True(_index.TryGetPayload(1000, out var payload));
        Assert.Equal([new PayloadField("n", 4200L), new PayloadField("even", true), new PayloadField("color", "red")], payload.ToList());
        Assert.Equal([1000], _index.Scroll(SearchFilter.Of(Filter.All(new IntegerMatch("n", 4200))), null, 10).Ids);
    }

    [Fact]
    public void DeletePayloadFieldsRemovesOnlyThoseNamed()
    {
        Assert.True(_index.DeletePayloadFields(1000, ["n", "nothing"]));

        Assert.True(_index.TryGetPayload(1000, out var payload));
        Assert.Equal([new PayloadField("even", true)], payload.ToList());
        Assert.Equal(99, _index.CountMatching(SearchFilter.Of(Filter.All(new NumericRange("n") { Gte = 0 }))));
    }

    [Fact]
    public void ClearPayloadRemovesEveryField()
    {
        Assert.True(_index.ClearPayload(1000));
        Assert.True(_index.TryGetPayload(1000, out var payload));
        Assert.Empty(payload);
        Assert.Equal(1, _index.CountMatching(SearchFilter.Of(Filter.All(new IsNull("even")))));
    }

    [Fact]
    public void UpdatesOfUnknownIdsReturnFalseAndChangeNothing()
    {
        Assert.False(_index.SetPayload(1, new Payload { { "color", "red" } }));
        Assert.False(_index.DeletePayloadFields(1, ["n"]));
        Assert.False(_index.ClearPayload(1));
        Assert.False(_index.TryGetPayload(1, out _));
        Assert.Null(_index.Payloads.Column("color"));
    }

    [Fact]
    public void ARefusedUpdateChangesNothing()
    {
        Assert.Throws<ArgumentException>(() => _index.SetPayload(1000, new Payload { { "color", "red" }, { "n", "forty-two" } }));

        Assert.True(_index.TryGetPayload(1000, out var payload));
        Assert.Equal([new PayloadField("n", 0L), new PayloadField("even", true)], payload.ToList());
        Assert.Null(_index.Payloads.Column("color"));
    }

    [Fact]
    public void UpdatesCannotGrowAPointPastMaxFieldsPerPoint()
    {
        var many = new Payload(Enumerable.Range(0, PayloadLimits.MaxFieldsPerPoint - 2).Select(i => new PayloadField($"f{i}", (long)i)));
        Assert.True(_index.SetPayload(1000, many)); // with n and even: exactly the limit

        var error = Assert.Throws<ArgumentException>(() => _index.SetPayload(1000, new Payload { { "one-more", 1L } }));

        Assert.Contains("MaxFieldsPerPoint", error.Message);
        Assert.Null(_index.Payloads.Column("one-more"));
        Assert.True(_index.SetPayload(1000, new Payload { { "f0", 7L } })); // rewriting a field it has is fine
    }

    [Fact]
    public void ADeletedPointHasNoPayloadAndIsNotCounted()
    {
        _index.Delete(1000);
        Assert.False(_index.TryGetPayload(1000, out _));
        Assert.Equal(49, _index.CountMatching(SearchFilter.Of(Filter.All(new BoolMatch("even", true)))));
    }

    [Fact]
    public void ScrollPagesThroughEveryMatchInIdOrderOnce()
    {
        var filter = SearchFilter.Of(Filter.All(new BoolMatch("even", true)));
        var seen = new List<long>();
        long? cursor = null;
        int pages = 0;
        do
        {
            var page = _index.Scroll(filter, cursor, 7);
            seen.AddRange(page.Ids);
            cursor = page.NextAfterId;
            pages++;
        } while (cursor is not null);

        long[] expected = [.. Enumerable.Range(0, 100).Where(i => i % 2 == 0).Select(i => 1000L - 7 * i).Order()];
        Assert.Equal(expected, seen);
        Assert.Equal(8, pages); // 50 ids in pages of 7: the eighth has one
    }

    [Fact]
    public void ScrollOfAnExactMultipleEndsWithoutAnEmptyPage()
    {
        var page = _index.Scroll(null, afterId: null, limit: 100);
        Assert.Equal(100, page.Ids.Length);
        Assert.Null(page.NextAfterId);
    }

    [Fact]
    public void CountWithoutAFilterIsTheLiveCount() => Assert.Equal(100, _index.CountMatching(null));

    [Fact]
    public void UpsertManyWritesEveryPayloadOverThreads()
    {
        using var index = new HnswIndex(new HnswOptions { Dimension = 2 });
        var payloads = Enumerable.Range(0, 10_000).Select(i => (Payload?)(i % 3 == 0 ? null : new Payload { { "k", $"v{i % 5}" } })).ToList();
        index.UpsertMany(new float[20_000].Select((_, j) => (float)(j * 0.37 % 11)).ToArray(), TestData.Ids(10_000), null, payloads, threads: 2);

        Assert.Equal(10_000 - 3334, index.CountMatching(SearchFilter.Of(Filter.None(new IsNull("k")))));
        Assert.True(index.TryGetPayload(4, out var payload));
        Assert.Equal([new PayloadField("k", "v4")], payload.ToList());
    }
}
