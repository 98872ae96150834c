using AnnServer.Core.Recommend;
using AnnServer.Protocol.V1;
using Grpc.Core;

namespace AnnServer.Tests;

/// <summary>
/// Recommend (both strategies) and group_by end to end on a real server: each answer against a brute-force reference
/// over the points of <see cref="PayloadData"/> (200 points: ef 400 makes the walk exact), missing ids listed, bad
/// requests refused with INVALID_ARGUMENT naming the field or limit.
/// </summary>
public sealed class RecommendTests : IAsyncLifetime
{
    private const string Name = "r";
    private const int Ef = 400;
    private RunningServer _server = null!;

    public async Task InitializeAsync()
    {
        _server = await RunningServer.StartAsync();
        await PayloadData.CreateAsync(_server, Name);
        await _server.Vectors.UpsertAsync(PayloadData.Upsert(Name, 0, PayloadData.Points));
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private static float SquaredL2(float[] a, float[] b)
    {
        float sum = 0;
        for (int d = 0; d < a.Length; d++) sum += (a[d] - b[d]) * (a[d] - b[d]);
        return sum;
    }

    /// <summary>The ids of the k best points by <paramref name="score"/> (smaller first, then id), leaving out <paramref name="excluded"/>.</summary>
    private static long[] BruteForce(Func<float[], float> score, int k, IEnumerable<long> excluded, Func<int, bool>? passes = null) =>
        Enumerable.Range(0, PayloadData.Points)
            .Where(i => !excluded.Contains(i) && (passes is null || passes(i)))
            .Select(i => (Score: score(PayloadData.VectorOf(i)), Id: (long)i))
            .OrderBy(s => s.Score).ThenBy(s => s.Id)
            .Take(k).Select(s => s.Id).ToArray();

    /// <summary>The hits are the brute-force top-k by <paramref name="score"/>, in its order up to near ties (the server's
    /// SIMD sums round differently from this test's loop: scores within 1e-5 may come in either order).</summary>
    private static void AssertRankedBy(Func<float[], float> score, int k, long[] excluded, IEnumerable<Hit> hits)
    {
        long[] expected = BruteForce(score, k, excluded);
        long[] actual = hits.Select(h => h.Id).ToArray();
        float[] expectedScores = expected.Select(id => score(PayloadData.VectorOf((int)id))).ToArray();
        float[] actualScores = actual.Select(id => score(PayloadData.VectorOf((int)id))).ToArray();
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < actual.Length; i++)
            Assert.True(Math.Abs(expectedScores[i] - actualScores[i]) <= 1e-5f,
                $"hit {i} is {actual[i]} (score {actualScores[i]}), the reference has {expected[i]} (score {expectedScores[i]})");
        Assert.DoesNotContain(actual, excluded.Contains);
    }

    private static RecommendRequest Request(RecommendStrategy strategy) => new()
    {
        Collection = Name, PositiveIds = { 3, 17 }, NegativeIds = { 40 }, Strategy = strategy, K = 10, Ef = Ef,
    };

    [Fact]
    public async Task AverageVectorFindsTheNearestToTwiceThePositivesMeanMinusTheNegatives()
    {
        RecommendResponse answer = await _server.Vectors.RecommendAsync(Request(RecommendStrategy.AverageVector));

        float[] a = PayloadData.VectorOf(3), b = PayloadData.VectorOf(17), n = PayloadData.VectorOf(40);
        float[] target = Enumerable.Range(0, PayloadData.Dimension).Select(d => (a[d] + b[d]) - n[d]).ToArray();
        AssertRankedBy(v => SquaredL2(v, target), 10, [3, 17, 40], answer.Hits);
        Assert.Empty(answer.MissingIds);
    }

    [Fact]
    public async Task BestScoreRanksByTheNearestPositiveAgainstTheNearestNegative()
    {
        RecommendResponse answer = await _server.Vectors.RecommendAsync(Request(RecommendStrategy.BestScore));

        float[][] positives = [PayloadData.VectorOf(3), PayloadData.VectorOf(17)];
        float[] negative = PayloadData.VectorOf(40);
        AssertRankedBy(v => BestScore.Combine(positives.Min(p => SquaredL2(v, p)), SquaredL2(v, negative)), 10, [3, 17, 40], answer.Hits);
    }

    [Fact]
    public async Task InlineVectorsAreExamplesAsIdsAre()
    {
        var byVector = new RecommendRequest
        {
            Collection = Name, PositiveVectors = { new ExampleVector { Values = { PayloadData.VectorOf(3) } } }, PositiveIds = { 17 },
            NegativeVectors = { new ExampleVector { Values = { PayloadData.VectorOf(40) } } }, Strategy = RecommendStrategy.BestScore,
            K = 10, Ef = Ef,
        };
        RecommendResponse answer = await _server.Vectors.RecommendAsync(byVector);

        // Only 17 is an example by id: the points of the inline vectors (3 and 40) may be hits, and 3 is the best.
        float[][] positives = [PayloadData.VectorOf(3), PayloadData.VectorOf(17)];
        float[] negative = PayloadData.VectorOf(40);
        AssertRankedBy(v => BestScore.Combine(positives.Min(p => SquaredL2(v, p)), SquaredL2(v, negative)), 10, [17], answer.Hits);
        Assert.Equal(3, answer.Hits[0].Id);
    }

    [Fact]
    public async Task ExamplePointsAreNeverHitsAndTheFilterAndPayloadApply()
    {
        var request = Request(RecommendStrategy.BestScore);
        request.K = 50;
        request.Filter = new Filter { Must = { PayloadData.Match("color", new Match { Keyword = "green" }) } };
        request.WithPayload = new PayloadSelector { Fields = new FieldNames { Names = { "color" } } };
        request.PositiveIds.Add(1); // green itself: still never a hit

        RecommendResponse answer = await _server.Vectors.RecommendAsync(request);

        Assert.Equal(48, answer.Hits.Count); // the 50 green points but the examples 1 and 17
        Assert.All(answer.Hits, h => Assert.Equal("green", h.Payload.Fields["color"].Keyword));
        Assert.DoesNotContain(answer.Hits, h => h.Id is 1 or 3 or 17 or 40);
    }

    [Fact]
    public async Task MissingIdsAreListedAndTheRestRecommend()
    {
        var request = Request(RecommendStrategy.AverageVector);
        request.PositiveIds.Add(90_001);
        request.NegativeIds.Add(90_002);

        RecommendResponse answer = await _server.Vectors.RecommendAsync(request);

        Assert.Equal([90_001L, 90_002], answer.MissingIds);
        Assert.Equal(10, answer.Hits.Count);
    }

    [Fact]
    public async Task AllPositivesMissingIsRefusedNamingPositiveIds()
    {
        var error = await Assert.ThrowsAsync<RpcException>(() => _server.Vectors.RecommendAsync(new RecommendRequest
        {
            Collection = Name, PositiveIds = { 90_001, 90_002 }, NegativeIds = { 3 }, K = 5,
        }).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("positive_ids", error.Status.Detail);
    }

    [Fact]
    public async Task MoreExamplesThanTheLimitAreRefusedNamingIt()
    {
        var request = new RecommendRequest { Collection = Name, K = 5 };
        request.PositiveIds.Add(Enumerable.Range(0, 65).Select(i => (long)i));

        var error = await Assert.ThrowsAsync<RpcException>(() => _server.Vectors.RecommendAsync(request).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("limit of 64", error.Status.Detail);
    }

    [Fact]
    public async Task AnExampleVectorOfTheWrongDimensionIsRefused()
    {
        var error = await Assert.ThrowsAsync<RpcException>(() => _server.Vectors.RecommendAsync(new RecommendRequest
        {
            Collection = Name, PositiveVectors = { new ExampleVector { Values = { 1f, 2f } } }, K = 5,
        }).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("positive_vectors", error.Status.Detail);
    }

    /// <summary>The exact grouped answer: points with the field by distance, dealt into the first groups met.</summary>
    private static List<(string Key, long[] Ids)> ExactGroups(float[] query, Func<int, string> keyOf, int groups, int groupSize)
    {
        var result = new List<(string Key, List<long> Ids)>();
        foreach (long id in BruteForce(v => SquaredL2(v, query), PayloadData.Points, []))
        {
            string key = keyOf((int)id);
            int g = result.FindIndex(r => r.Key == key);
            if (g < 0)
            {
                if (result.Count == groups) continue;
                result.Add((key, []));
                g = result.Count - 1;
            }
            if (result[g].Ids.Count < groupSize) result[g].Ids.Add(id);
        }
        return result.Select(r => (r.Key, r.Ids.ToArray())).ToList();
    }

    [Fact]
    public async Task GroupedSearchIsTheExactGroupedAnswer()
    {
        float[] query = PayloadData.VectorOf(1000);
        SearchResponse answer = await _server.Vectors.SearchAsync(new SearchRequest
        {
            Collection = Name, Query = { query }, K = 1, Ef = Ef,
            GroupBy = new GroupBy { Field = "stock", GroupSize = 3, Groups = 4 },
            WithPayload = new PayloadSelector { Fields = new FieldNames { Names = { "stock" } } },
        });

        var expected = ExactGroups(query, i => (i % 10).ToString(), groups: 4, groupSize: 3);
        Assert.Empty(answer.Hits);
        Assert.Equal(expected.Select(g => g.Key), answer.Groups.Select(g => g.Key.Integer.ToString()));
        Assert.Equal(expected.Select(g => g.Ids), answer.Groups.Select(g => g.Hits.Select(h => h.Id).ToArray()));
        Assert.All(answer.Groups, g => Assert.All(g.Hits, h => Assert.Equal(g.Key.Integer, h.Payload.Fields["stock"].Integer)));
    }

    [Fact]
    public async Task PointsWithoutTheFieldAreLeftOutOfGroups()
    {
        // "note" is only on every fifth point.
        SearchResponse answer = await _server.Vectors.SearchAsync(new SearchRequest
        {
            Collection = Name, Query = { PayloadData.VectorOf(7) }, K = 1, Ef = Ef,
            GroupBy = new GroupBy { Field = "note", GroupSize = 5, Groups = 3 },
        });

        HitGroup group = Assert.Single(answer.Groups);
        Assert.Equal("n", group.Key.Keyword);
        Assert.Equal(5, group.Hits.Count);
        Assert.All(group.Hits, h => Assert.Equal(0, h.Id % 5));
    }

    [Fact]
    public async Task RecommendGroupsHonourTheLimitsAndLeaveTheExamplesOut()
    {
        var request = Request(RecommendStrategy.BestScore);
        request.GroupBy = new GroupBy { Field = "color", GroupSize = 2, Groups = 3 };

        RecommendResponse answer = await _server.Vectors.RecommendAsync(request);

        Assert.Empty(answer.Hits);
        Assert.Equal(3, answer.Groups.Count);
        Assert.Equal(3, answer.Groups.Select(g => g.Key.Keyword).Distinct().Count());
        Assert.All(answer.Groups, g => Assert.Equal(2, g.Hits.Count));
        Assert.DoesNotContain(answer.Groups.SelectMany(g => g.Hits), h => h.Id is 3 or 17 or 40);
    }

    [Theory]
    [InlineData("", 1, 1, "group_by.field")]
    [InlineData("color", 0, 1, "group_by.group_size")]
    [InlineData("color", 1, 0, "group_by.groups")]
    [InlineData("color", 101, 100, "10000")]
    [InlineData("price", 1, 1, "price")]
    public async Task BadGroupingIsRefusedNamingTheField(string field, int groupSize, int groups, string named)
    {
        var error = await Assert.ThrowsAsync<RpcException>(() => _server.Vectors.SearchAsync(new SearchRequest
        {
            Collection = Name, Query = { PayloadData.VectorOf(7) }, K = 1,
            GroupBy = new GroupBy { Field = field, GroupSize = groupSize, Groups = groups },
        }).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains(named, error.Status.Detail.Replace(",", ""));
    }
}
