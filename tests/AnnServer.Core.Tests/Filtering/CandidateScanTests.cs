using AnnServer.Core.Filtering;
using AnnServer.Core.Payloads;

namespace AnnServer.Core.Tests.Filtering;

/// <summary>Exact scans driven by a keyword match's postings or has-id's ids instead of every node.</summary>
public sealed class CandidateScanTests : IDisposable
{
    private const int Points = 5_000;
    private readonly HnswIndex _index = new(new HnswOptions { Dimension = 4, M = 8, EfConstruction = 40 });

    public CandidateScanTests()
    {
        var random = new Random(9);
        var vectors = new float[Points * 4];
        for (int i = 0; i < vectors.Length; i++) vectors[i] = (float)random.NextDouble();
        var payloads = Enumerable.Range(0, Points).Select(i => (Payload?)new Payload
        {
            { "rare", i % 500 == 0 ? "yes" : "no" }, { "tags", PayloadValue.Keywords($"t{i % 100}", $"u{i % 7}") },
        }).ToList();
        _index.UpsertMany(vectors, TestData.Ids(Points), null, payloads, threads: 1);
    }

    public void Dispose() => _index.Dispose();

    private CompiledFilter Compile(Filter filter)
    {
        lock (_index.MapLock)
            return FilterCompiler.Compile(SearchFilter.Of(filter), _index.Storage, _index.Payloads, new Dictionary<int, int>(), _index.Count,
                _index.NodeById);
    }

    [Fact]
    public void ASearchCountsTheDistancesOfItsScan()
    {
        // "rare" = "yes" holds 10 points: the planner scans them, and the search costs those 10 distances.
        _index.Search([0.5f, 0.5f, 0.5f, 0.5f], 5, 20, SearchFilter.Of(Filter.All(new KeywordMatch("rare", "yes"))));
        Assert.Equal(Points / 500, _index.DistanceComputationsPerSearch);
    }

    [Fact]
    public void TheSmallestRequiredKeywordDrivesTheScan()
    {
        var compiled = Compile(new Filter(must: [new KeywordMatch("tags", "u3"), Filter.All(new KeywordMatch("rare", "yes"))]));
        Assert.Equal(Points / 500, compiled.CandidateCount);
    }

    [Fact]
    public void AKeywordUnderShouldDoesNotDriveTheScan() =>
        Assert.Null(Compile(new Filter(should: [new KeywordMatch("rare", "yes"), new KeywordMatch("tags", "t1")])).Candidates);

    [Fact]
    public void ALabelMatchDrivesTheScanWithItsPostings()
    {
        using var index = new HnswIndex(new HnswOptions { Dimension = 2 });
        index.UpsertMany(new float[2_000], TestData.Ids(1_000), [.. Enumerable.Range(0, 1_000).Select(i => (int[]?)[i % 100, 1000])], threads: 1);
        index.Upsert(5, [1, 1], [77]); // replaced: its old node stays listed under 5 and 1000, and is now under 77 too
        var filter = new SearchFilter([5, 6]);

        lock (index.MapLock)
        {
            var compiled = FilterCompiler.Compile(filter, index.Storage, index.Payloads, new Dictionary<int, int>(), index.Count,
                null, index.NodesByLabel);
            Assert.Equal(20, compiled.CandidateCount);
        }
        Assert.Equal(19, index.CountMatching(filter));
        Assert.Equal(19, index.ExactSearch([0, 0], 100, filter).Length);
    }

    [Fact]
    public void HasIdDrivesTheScanWithItsNodes() =>
        Assert.Equal(3, Compile(Filter.All(new HasId(1, 2, 3, 999_999), new KeywordMatch("rare", "no"))).CandidateCount);

    [Fact]
    public void APointMovedBetweenKeywordsIsFoundOnceUnderItsCurrentOne()
    {
        _index.SetPayload(1, new Payload { { "rare", "yes" } });
        _index.SetPayload(1, new Payload { { "rare", "no" } });
        _index.SetPayload(1, new Payload { { "rare", "yes" } });
        _index.SetPayload(500, new Payload { { "rare", "no" } });
        var filter = SearchFilter.Of(Filter.All(new KeywordMatch("rare", "yes")));

        var hits = _index.ExactSearch([0.5f, 0.5f, 0.5f, 0.5f], 100, filter);

        long[] expected = [.. Enumerable.Range(0, Points).Where(i => (i % 500 == 0 && i != 500) || i == 1).Select(i => (long)i).Order()];
        Assert.Equal(expected, hits.Select(h => h.Id).Order());
        Assert.Equal(hits.Select(h => h.Id).Order(), _index.Search([0.5f, 0.5f, 0.5f, 0.5f], 100, 100, filter).Select(h => h.Id).Order());
        Assert.Equal(expected, _index.Scroll(filter, null, 100).Ids);
        Assert.Equal(expected.Length, _index.CountMatching(filter));
    }

    [Fact]
    public void DeletedPointsAmongTheCandidatesAreNotReturned()
    {
        _index.Delete(0);
        _index.Upsert(1000, [0, 0, 0, 0], new Payload { { "rare", "no" } }); // replaced: its old node stays listed under "yes"
        var hits = _index.ExactSearch([0, 0, 0, 0], 100, SearchFilter.Of(Filter.All(new KeywordMatch("rare", "yes"))));
        Assert.Equal(Points / 500 - 2, hits.Length);
    }
}
