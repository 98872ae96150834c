using AnnServer.Core.Filtering;
using AnnServer.Core.Payloads;

namespace AnnServer.Core.Tests.Filtering;

/// <summary>
/// A filter of one numeric range, which a scan evaluates chunk by chunk of the column (CompiledFilter.Collect), passes
/// exactly the nodes the per-node program passes: across chunk boundaries, with values absent, deleted and changed.
/// </summary>
public sealed class RangeScanTests
{
    private const int Points = 9_000; // over two chunks of 4,096

    [Theory]
    [InlineData("price", 20.0, 20.5)]
    [InlineData("price", -1.0, 1000.0)]
    [InlineData("rank", 100.0, 140.0)]
    [InlineData("rank", 5000.0, 5000.0)]
    public void ExactSearchWithARangeFindsThePointsBruteForceFinds(string field, double low, double high)
    {
        using var index = new HnswIndex(new HnswOptions { Dimension = 2, M = 8, EfConstruction = 20 });
        var random = new Random(4);
        var vectors = new float[Points * 2];
        for (int i = 0; i < vectors.Length; i++) vectors[i] = (float)random.NextDouble();
        var payloads = new Payload?[Points];
        for (int i = 0; i < Points; i++)
        {
            // A third have no price; the first chunk's last nodes have no payload at all.
            if (i is >= 4000 and < 4096) continue;
            var payload = new Payload { { "rank", (long)(i % 10_000) } };
            if (i % 3 != 0) payload.Add("price", random.NextDouble() * 100);
            payloads[i] = payload;
        }
        index.UpsertMany(vectors, TestData.Ids(Points), null, payloads, threads: 1);
        for (long id = 0; id < Points; id += 7) index.Delete(id);
        for (long id = 1; id < Points; id += 11) index.SetPayload(id, new Payload { { "price", 20.25 }, { "rank", 120L } });

        var filter = SearchFilter.Of(Filter.All(new NumericRange(field) { Gte = low, Lte = high }));
        var query = new float[] { 0.5f, 0.5f };
        int passing = index.CountMatching(filter);
        var hits = index.ExactSearch(query, Math.Max(1, passing), filter);

        var expected = new List<long>();
        for (long id = 0; id < Points; id++)
        {
            if (!index.TryGetPayload(id, out var payload) || !payload.TryGetValue(field, out var value)) continue;
            double number = field == "rank" ? value.AsInt64() : value.AsDouble();
            if (number >= low && number <= high) expected.Add(id);
        }
        Assert.NotEmpty(expected);
        Assert.Equal(expected, hits.Select(h => h.Id).Order());
    }
}
