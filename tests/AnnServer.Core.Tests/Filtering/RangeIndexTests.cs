using AnnServer.Core.Filtering;
using AnnServer.Core.Payloads;

namespace AnnServer.Core.Tests.Filtering;

/// <summary>
/// Range conditions take their candidates and estimate from their field's sorted index (NumericRangeIndex): searches
/// answer what brute force over the test's own copy of the points answers, at several selectivities, on double, int64
/// and int64-list fields, and go on doing so while points are upserted, deleted and given new payloads, both before the
/// index is rebuilt (the changed nodes are in its tail) and after (past its staleness limit).
/// </summary>
public sealed class RangeIndexTests : IDisposable
{
    private const int Dimension = 8;
    private const int Points = 6_000;
    private const int Queries = 20;

    private readonly HnswIndex _index = new(new HnswOptions { Dimension = Dimension, M = 8, EfConstruction = 40 });
    private readonly Dictionary<long, (float[] Vector, double Price, long Rank, long[] Sizes)> _model = [];
    private readonly Random _random = new(181);
    private readonly float[] _queries;

    public RangeIndexTests()
    {
        var vectors = new float[Points * Dimension];
        var payloads = new Payload?[Points];
        for (int i = 0; i < Points; i++)
        {
            var point = NewPoint();
            point.Vector.CopyTo(vectors, i * Dimension);
            payloads[i] = PayloadOf(point);
            _model[i] = point;
        }
        _index.UpsertMany(vectors, TestData.Ids(Points), null, payloads, threads: 1);
        _queries = new float[Queries * Dimension];
        for (int i = 0; i < _queries.Length; i++) _queries[i] = (float)_random.NextDouble();
    }

    public void Dispose() => _index.Dispose();

    public static TheoryData<string, double, double> Ranges => new()
    {
        { "price", 40, 40.1 },   // 0.1 %
        { "price", 40, 41 },     // 1 %
        { "price", 40, 50 },     // 10 %
        { "rank", 500, 509 },    // 1 %
        { "rank", 0, 99 },       // 10 %
        { "sizes", 7, 9 },       // about 3 %
    };

    [Theory]
    [MemberData(nameof(Ranges))]
    public void TheExactScanOfARangeVisitsItsSliceOfTheIndexAndFindsWhatBruteForceFinds(string field, double low, double high)
    {
        var filter = Range(field, low, high);
        Assert.True(CandidateCount(filter) < Points / 4, "a selective range has candidates from its index");
        AssertSearchesMatchBruteForce(field, low, high, FilteredSearchStrategy.ExactScan);
    }

    [Theory]
    [MemberData(nameof(Ranges))]
    public void ThePlannersSearchOfARangeKeepsItsRecall(string field, double low, double high) =>
        AssertSearchesMatchBruteForce(field, low, high, strategy: null, minimumRecall: 0.95);

    [Fact]
    public void TheEstimateOfARangeIsItsCountInTheIndex()
    {
        var filter = Range("price", 40, 41);
        int passing = _index.CountMatching(filter);
        lock (_index.MapLock)
        {
            var compiled = FilterCompiler.Compile(filter, _index.Storage, _index.Payloads, new Dictionary<int, int>(), _index.Count);
            Assert.Equal(passing, compiled.EstimatedMatches, precision: 6);
        }
    }

    [Theory]
    [InlineData(40)]    // fewer changes than the index's staleness limit: the changed nodes are scanned from its tail
    [InlineData(1_500)] // more: the next range query refreshes the index from its tail
    [InlineData(11_000)] // more writes than the index holds: it is dropped, and the next range query rebuilds it whole
    public void ARangeFindsWhatBruteForceFindsAfterUpsertsDeletesAndPayloadUpdates(int changes)
    {
        foreach (var (field, low, high) in QueriedRanges)
            AssertSearchesMatchBruteForce(field, low, high, FilteredSearchStrategy.ExactScan); // builds the indexes
        int entriesBefore = RangeIndexEntries("price");

        Change(changes);

        AssertEveryQueriedRangeMatchesBruteForce();
        if (changes < NumericRangeIndex<double>.MinStaleAfter / 2)
            Assert.Equal(entriesBefore, RangeIndexEntries("price")); // not refreshed: the tail answered
        else
            Assert.NotEqual(entriesBefore, RangeIndexEntries("price"));
        Assert.Equal(changes > Points ? 2 : 1, PriceIndex().Rebuilds);
    }

    [Fact]
    public void WavesOfChangesAreFoldedIntoTheIndexWithoutRebuildingIt()
    {
        foreach (var (field, low, high) in QueriedRanges)
            AssertSearchesMatchBruteForce(field, low, high, FilteredSearchStrategy.ExactScan);
        for (int wave = 0; wave < 4; wave++)
        {
            Change(600);
            AssertEveryQueriedRangeMatchesBruteForce();
        }
        Assert.Equal(1, PriceIndex().Rebuilds);
    }

    private static readonly (string Field, double Low, double High)[] QueriedRanges = [("price", 40.0, 41.0), ("rank", 500.0, 509.0), ("sizes", 7.0, 9.0)];

    private long _nextId = Points;

    /// <summary>Upserts, replaces, deletes and payload updates, in turn, on random points; most move points into the
    /// ranges queried, so the tail's nodes are among the answers.</summary>
    private void Change(int changes)
    {
        for (int change = 0; change < changes; change++)
        {
            long id = _random.Next(Points);
            switch (change % 5)
            {
                case 0:
                    var added = NewPoint(inRanges: true);
                    _index.Upsert(_nextId, added.Vector, PayloadOf(added));
                    _model[_nextId++] = added;
                    break;
                case 1:
                    var replaced = NewPoint(inRanges: true);
                    _index.Upsert(id, replaced.Vector, PayloadOf(replaced));
                    _model[id] = replaced;
                    break;
                case 2:
                    _index.Delete(id);
                    _model.Remove(id);
                    break;
                case 3 when _model.TryGetValue(id, out var point):
                    var moved = point with { Price = 40.5, Rank = 505, Sizes = [8] };
                    _index.SetPayload(id, PayloadOf(moved));
                    _model[id] = moved;
                    break;
                case 4 when _model.TryGetValue(id, out var point):
                    _index.DeletePayloadFields(id, ["price", "rank", "sizes"]);
                    _model[id] = point with { Price = double.NaN, Rank = long.MinValue, Sizes = [] };
                    break;
            }
        }
    }

    private void AssertEveryQueriedRangeMatchesBruteForce()
    {
        foreach (var (field, low, high) in QueriedRanges)
        {
            AssertSearchesMatchBruteForce(field, low, high, FilteredSearchStrategy.ExactScan);
            AssertSearchesMatchBruteForce(field, low, high, strategy: null, minimumRecall: 0.95);
            Assert.Equal(_model.Values.Count(p => InRange(p, field, low, high)), _index.CountMatching(Range(field, low, high)));
        }
    }

    private void AssertSearchesMatchBruteForce(string field, double low, double high, FilteredSearchStrategy? strategy, double minimumRecall = 1)
    {
        var filter = Range(field, low, high);
        _index.ForcedStrategy = strategy;
        try
        {
            double recall = 0;
            for (int q = 0; q < Queries; q++)
            {
                var query = TestData.Row(_queries, q, Dimension);
                long[] expected = BruteForce(query, field, low, high, k: 10);
                var hits = _index.Search(query, 10, 32, filter);
                Assert.Equal(expected.Length, hits.Length);
                if (expected.Length == 0) { recall += 1; continue; }
                recall += hits.Count(h => expected.Contains(h.Id)) / (double)expected.Length;
            }
            recall /= Queries;
            Assert.True(recall >= minimumRecall, $"recall@10 of {field} in [{low}, {high}] ({strategy?.ToString() ?? "planner"}) was {recall:F4}");
        }
        finally
        {
            _index.ForcedStrategy = null;
        }
    }

    private long[] BruteForce(ReadOnlySpan<float> query, string field, double low, double high, int k)
    {
        var scored = new List<(float Distance, long Id)>();
        foreach (var (id, point) in _model)
        {
            if (!InRange(point, field, low, high)) continue;
            float distance = 0;
            for (int d = 0; d < Dimension; d++) distance += (query[d] - point.Vector[d]) * (query[d] - point.Vector[d]);
            scored.Add((distance, id));
        }
        return [.. scored.OrderBy(s => s.Distance).ThenBy(s => s.Id).Take(k).Select(s => s.Id)];
    }

    private static bool InRange((float[] Vector, double Price, long Rank, long[] Sizes) point, string field, double low, double high) => field switch
    {
        "price" => point.Price >= low && point.Price <= high, // NaN: no price
        "rank" => point.Rank != long.MinValue && point.Rank >= low && point.Rank <= high,
        _ => point.Sizes.Any(size => size >= low && size <= high),
    };

    private (float[] Vector, double Price, long Rank, long[] Sizes) NewPoint(bool inRanges = false)
    {
        var vector = new float[Dimension];
        for (int d = 0; d < Dimension; d++) vector[d] = (float)_random.NextDouble();
        if (inRanges) return (vector, 40 + _random.NextDouble(), 500 + _random.Next(10), [_random.Next(7, 10)]);
        long[] sizes = [.. Enumerable.Range(0, _random.Next(4)).Select(_ => (long)_random.Next(100))];
        return (vector, _random.NextDouble() * 100, _random.Next(10_000), sizes);
    }

    private static Payload PayloadOf((float[] Vector, double Price, long Rank, long[] Sizes) point) => new()
    {
        { "price", point.Price }, { "rank", point.Rank }, { "sizes", PayloadValue.Int64s(point.Sizes) },
    };

    private static SearchFilter Range(string field, double low, double high) =>
        SearchFilter.Of(Filter.All(new NumericRange(field) { Gte = low, Lte = high }));

    private long CandidateCount(SearchFilter filter)
    {
        lock (_index.MapLock)
            return FilterCompiler.Compile(filter, _index.Storage, _index.Payloads, new Dictionary<int, int>(), _index.Count).CandidateCount;
    }

    private NumericRangeIndex<double> PriceIndex()
    {
        lock (_index.MapLock) return ((DoubleColumn)_index.Payloads.Column("price")!).RangeIndex;
    }

    private int RangeIndexEntries(string field)
    {
        lock (_index.MapLock) return ((DoubleColumn)_index.Payloads.Column(field)!).RangeIndex.Count;
    }
}
