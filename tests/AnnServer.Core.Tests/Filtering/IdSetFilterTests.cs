using AnnServer.Core.Filtering;

namespace AnnServer.Core.Tests.Filtering;

/// <summary>Stored id sets in filters (<see cref="InIdSet"/>), against a brute-force reference on small data.</summary>
public class IdSetFilterTests : IDisposable
{
    private const int Dimension = 4;
    private const int Points = 2_000;
    private readonly HnswIndex _index = new(new HnswOptions { Dimension = Dimension, M = 8, EfConstruction = 60 });
    private readonly Dictionary<long, float[]> _vectors = [];
    private readonly Sets _sets = new();
    private readonly Random _random = new(23);

    public IdSetFilterTests()
    {
        for (long id = 0; id < Points; id++) Put(id);
    }

    public void Dispose() => _index.Dispose();

    private sealed class Sets : IIdSetSource
    {
        public Dictionary<string, IdSet> ByName { get; } = [];
        public IdSet? Find(string name) => ByName.GetValueOrDefault(name);
    }

    private void Put(long id)
    {
        float[] vector = [.. Enumerable.Range(0, Dimension).Select(_ => (float)_random.NextDouble())];
        _index.Upsert(id, vector);
        _vectors[id] = vector;
    }

    private SearchFilter With(Filter where) => SearchFilter.WithIdSets(SearchFilter.Of(where), _sets);

    private long[] BruteForce(float[] query, int k, Func<long, bool> passes) =>
        [.. _vectors.Where(p => passes(p.Key))
            .OrderBy(p => p.Value.Select((x, i) => (x - query[i]) * (x - query[i])).Sum()).ThenBy(p => p.Key)
            .Take(k).Select(p => p.Key)];

    private long[] RandomIds(int count) => [.. Enumerable.Range(0, count).Select(_ => (long)_random.Next(Points + 100))];

    [Fact]
    public void ExactSearchNotInASetIsTheBruteForceAnswer()
    {
        var seen = new IdSet(RandomIds(1_500));
        _sets.ByName["seen"] = seen;
        for (int q = 0; q < 20; q++)
        {
            float[] query = [.. Enumerable.Range(0, Dimension).Select(_ => (float)_random.NextDouble())];
            long[] expected = BruteForce(query, 10, id => !seen.Contains(id));
            Assert.Equal(expected, _index.ExactSearch(query, 10, With(Filter.None(new InIdSet("seen")))).Select(h => h.Id));
        }
    }

    [Fact]
    public void ApproximateSearchInAndNotInASetFindsTheBruteForceAnswer()
    {
        var set = new IdSet(RandomIds(600));
        _sets.ByName["s"] = set;
        int found = 0, asked = 0;
        for (int q = 0; q < 30; q++)
        {
            float[] query = [.. Enumerable.Range(0, Dimension).Select(_ => (float)_random.NextDouble())];
            foreach (bool inSet in new[] { true, false })
            {
                var where = inSet ? Filter.All(new InIdSet("s")) : Filter.None(new InIdSet("s"));
                long[] expected = BruteForce(query, 10, id => set.Contains(id) == inSet);
                long[] hits = [.. _index.Search(query, 10, 64, With(where)).Select(h => h.Id)];
                Assert.All(hits, id => Assert.Equal(inSet, set.Contains(id)));
                found += hits.Intersect(expected).Count();
                asked += expected.Length;
            }
        }
        Assert.True(found >= 0.95 * asked, $"recall {found}/{asked}");
    }

    [Fact]
    public void CountAndScrollSeeTheSetsLivePoints()
    {
        _sets.ByName["few"] = new IdSet([3, 5, 5, 7, Points + 50]);
        _index.Delete(5);
        Assert.Equal(2, _index.CountMatching(With(Filter.All(new InIdSet("few")))));
        Assert.Equal([3, 7], _index.Scroll(With(Filter.All(new InIdSet("few"))), null, 10).Ids);
        Assert.Equal(Points - 3, _index.CountMatching(With(Filter.None(new InIdSet("few")))));
    }

    [Fact]
    public void PointsUpsertedAfterTheSetWasUsedAreJudgedByTheirIds()
    {
        long[] ids = [.. Enumerable.Range(0, 300).Select(i => (long)i * 6)];
        _sets.ByName["s"] = new IdSet([.. ids, Points + 1, Points + 2]);
        var inSet = With(Filter.All(new InIdSet("s")));
        Assert.Equal(ids.Length, _index.CountMatching(inSet)); // builds the bitmap

        // A re-upserted member takes a new node, an id of the set arrives, a member is deleted, an outsider re-upserted.
        Put(12);
        Put(Points + 1);
        _index.Delete(18);
        Put(15);
        Assert.Equal(ids.Length, _index.CountMatching(inSet));
        long[] all = _index.Scroll(inSet, null, 1_000).Ids;
        Assert.Contains(12L, all);
        Assert.Contains(Points + 1L, all);
        Assert.DoesNotContain(18L, all);
        Assert.DoesNotContain(15L, all);
        Assert.Equal(Points + 1 - 1 - ids.Length, _index.CountMatching(With(Filter.None(new InIdSet("s")))));
    }

    [Fact]
    public void AnUnknownSetIsRefusedNamingIt()
    {
        var refused = Assert.Throws<UnknownIdSetException>(() => _index.CountMatching(With(Filter.All(new InIdSet("nope")))));
        Assert.Contains("'nope'", refused.Message);
        Assert.Throws<UnknownIdSetException>(() => _index.CountMatching(SearchFilter.Of(Filter.All(new InIdSet("nope")))));
    }

    [Fact]
    public void AnEmptyNameIsRefused() =>
        Assert.Throws<ArgumentException>(() => _index.CountMatching(With(Filter.All(new InIdSet("")))));

    [Fact]
    public void TheBitmapIsOneBitPerNode()
    {
        var set = new IdSet(RandomIds(100));
        _sets.ByName["s"] = set;
        _index.CountMatching(With(Filter.All(new InIdSet("s"))));
        Assert.InRange(set.MemoryBytes, set.Count * 8 + Points / 8, set.Count * 8 + Points / 8 * 9 / 8 + 64);
    }
}
