using AnnServer.Core.Filtering;
using AnnServer.Core.Payloads;

namespace AnnServer.Core.Tests.Hnsw;

/// <summary>
/// The write path links a batch into the graph while its log commit is on its way, and makes it visible only once the
/// commit is durable (<see cref="HnswIndex.LinkManyUnchecked"/>, <see cref="HnswIndex.CommitLinked"/>,
/// <see cref="HnswIndex.AbandonLinked"/>): until then no read may see it.
/// </summary>
public sealed class LinkThenCommitTests : IDisposable
{
    private const int Dimension = 8;
    private const int Points = 300;

    private readonly float[] _vectors = TestData.Clustered(Points, Dimension, seed: 5);
    private readonly HnswIndex _index = new(new HnswOptions { Dimension = Dimension, RandomSeed = 3 });

    /// <summary>The first half of the points upserted; the tests link the second half.</summary>
    public LinkThenCommitTests() =>
        _index.UpsertMany(_vectors.AsMemory(0, Points / 2 * Dimension), TestData.Ids(Points / 2), threads: 1);

    public void Dispose() => _index.Dispose();

    private static LinkedPoints LinkSecondHalf(HnswIndex index, float[] vectors, Payload?[]? payloads = null) =>
        index.LinkManyUnchecked(vectors.AsMemory(Points / 2 * Dimension), TestData.Ids(Points / 2, offset: Points / 2), null, payloads);

    private static long[] SearchIds(HnswIndex index, float[] vectors, int row, SearchFilter? filter = null) =>
        [.. index.Search(TestData.Row(vectors, row, Dimension), 10, 64, filter).Select(hit => hit.Id)];

    [Fact]
    public void LinkedPointsAreInvisibleToEveryReadUntilCommitted()
    {
        HnswIndex index = _index;
        float[] vectors = _vectors;

        LinkSecondHalf(index, vectors);

        Assert.Equal(Points / 2, index.Count);
        Assert.False(index.Contains(Points - 1));
        Assert.False(index.TryGet(Points - 1, new float[Dimension], out _));
        for (int row = Points / 2; row < Points; row += 10)
        {
            Assert.All(SearchIds(index, vectors, row), id => Assert.True(id < Points / 2));
            Assert.All(index.ExactSearch(TestData.Row(vectors, row, Dimension), 10), hit => Assert.True(hit.Id < Points / 2));
        }
    }

    [Fact]
    public void CommittedPointsAreFoundAsIfUpserted()
    {
        HnswIndex index = _index;
        float[] vectors = _vectors;

        LinkedPoints linked = LinkSecondHalf(index, vectors);
        int replaced = index.CommitLinked(linked, 0, Points / 2);

        Assert.Equal(0, replaced);
        Assert.Equal(Points, index.Count);
        int foundFirst = 0;
        for (int row = Points / 2; row < Points; row++)
            if (SearchIds(index, vectors, row).FirstOrDefault() == row) foundFirst++;
        Assert.True(foundFirst >= Points / 2 * 95 / 100, $"{foundFirst} of {Points / 2} committed points found as their own nearest");
    }

    [Fact]
    public void CommittingAnExistingIdReplacesItsPoint()
    {
        HnswIndex index = _index;
        float[] vectors = _vectors;

        // The second half's vectors under the first half's ids.
        LinkedPoints linked = index.LinkManyUnchecked(vectors.AsMemory(Points / 2 * Dimension), TestData.Ids(Points / 2), null, null);
        Assert.Equal(Points / 2, index.CommitLinked(linked, 0, Points / 2));

        Assert.Equal(Points / 2, index.Count);
        var stored = new float[Dimension];
        Assert.True(index.TryGet(7, stored, out _));
        Assert.Equal(TestData.Row(vectors, Points / 2 + 7, Dimension).ToArray(), stored);
    }

    [Fact]
    public void AbandonedPointsAreNeverVisible()
    {
        HnswIndex index = _index;
        float[] vectors = _vectors;

        index.AbandonLinked(LinkSecondHalf(index, vectors));
        index.Upsert(Points + 1, TestData.Row(vectors, 0, Dimension));

        Assert.Equal(Points / 2 + 1, index.Count);
        for (int row = Points / 2; row < Points; row += 10)
            Assert.All(SearchIds(index, vectors, row), id => Assert.True(id < Points / 2 || id == Points + 1));
    }

    [Fact]
    public void PayloadsAndIdSetsSeeCommittedPointsOnly()
    {
        HnswIndex index = _index;
        float[] vectors = _vectors;
        var sets = new IdSets { ["late"] = new IdSet(TestData.Ids(Points / 2, offset: Points / 2)) };
        SearchFilter inLate = SearchFilter.WithIdSets(SearchFilter.Of(Filter.All(new InIdSet("late"))), sets);
        var payloads = new Payload?[Points / 2];
        Array.Fill(payloads, new Payload { { "color", "red" } });
        SearchFilter red = SearchFilter.Of(Filter.All(new KeywordMatch("color", "red")));

        LinkedPoints linked = LinkSecondHalf(index, vectors, payloads);
        // A filtered search before the commit builds the id set's bitmap over the nodes there are: it must not count the
        // linked ones as done.
        Assert.Empty(SearchIds(index, vectors, Points - 1, inLate));
        Assert.Equal(0, index.CountMatching(red));

        index.CommitLinked(linked, 0, Points / 2);

        Assert.Equal(Points / 2, index.CountMatching(inLate));
        Assert.Equal(Points / 2, index.CountMatching(red));
        Assert.Equal(Points - 1, SearchIds(index, vectors, Points - 1, inLate)[0]);
    }

    private sealed class IdSets : Dictionary<string, IdSet>, IIdSetSource
    {
        public IdSet? Find(string name) => this.GetValueOrDefault(name);
    }
}
