using AnnServer.Core.Filtering;
using AnnServer.Core.Payloads;

namespace AnnServer.Core.Tests.Payloads;

public class PayloadConcurrencyTests
{
    /// <summary>
    /// One writer inserts points across many column chunks, rewrites payloads, adds fields and keywords (growing columns,
    /// dictionaries and the field table) while searches, counts and scrolls filter on them. A point's "parity" is always
    /// its id's, whatever else changes, so every hit of a parity filter must have that parity.
    /// </summary>
    [Fact]
    public async Task SearchesDuringPayloadWritesSeeOnlyWholeValues()
    {
        const int dimension = 8, initial = 2_000, added = 10_000;
        float[] data = TestData.Clustered(initial + added, dimension, seed: 81);
        using var index = new HnswIndex(new HnswOptions { Dimension = dimension, M = 8, EfConstruction = 40 });
        static Payload PayloadOf(int i) => new() { { "parity", i % 2 == 0 ? "even" : "odd" }, { "n", (long)i }, { "tags", PayloadValue.Int64s(i % 7, i % 11) } };
        index.UpsertMany(data.AsMemory(0, initial * dimension), TestData.Ids(initial), null,
            Enumerable.Range(0, initial).Select(i => (Payload?)PayloadOf(i)).ToList(), threads: 1);

        var errors = new System.Collections.Concurrent.ConcurrentQueue<Exception>();
        int writing = 1;
        var writer = Task.Run(() =>
        {
            try
            {
                var random = new Random(82);
                for (int i = initial; i < initial + added; i++)
                {
                    index.Upsert(i, TestData.Row(data, i, dimension), PayloadOf(i));
                    int other = random.Next(i);
                    index.SetPayload(other, new Payload { { "parity", other % 2 == 0 ? "even" : "odd" }, { $"f{i % 40}", $"k{i}" } });
                    if (i % 3 == 0) index.DeletePayloadFields(random.Next(i), ["tags", "n"]);
                }
            }
            catch (Exception e) { errors.Enqueue(e); }
            finally { Volatile.Write(ref writing, 0); }
        });
        var readers = Enumerable.Range(0, 2).Select(r => Task.Run(() =>
        {
            var random = new Random(r);
            var hits = new SearchHit[10];
            var even = SearchFilter.Of(new Filter(must: [new KeywordMatch("parity", "even")], should: [new IntegerMatch("tags", 3), new IsEmpty("tags")]));
            try
            {
                while (Volatile.Read(ref writing) == 1)
                {
                    int found = index.Search(TestData.Row(data, random.Next(initial), dimension), 10, 40, hits, even);
                    for (int i = 0; i < found; i++)
                        if (hits[i].Id % 2 != 0) throw new InvalidOperationException($"odd id {hits[i].Id} passed the even filter");
                    var field = SearchFilter.Of(Filter.All(new KeywordMatch($"f{random.Next(40)}", $"k{random.Next(initial + added)}"), new NumericRange("n") { Gte = 0 }));
                    index.Search(TestData.Row(data, random.Next(initial), dimension), 5, 20, hits, field);
                    if (random.Next(50) == 0)
                    {
                        foreach (long id in index.Scroll(even, null, 100).Ids)
                            if (id % 2 != 0) throw new InvalidOperationException($"odd id {id} scrolled under the even filter");
                    }
                }
            }
            catch (Exception e) { errors.Enqueue(e); }
        })).ToArray();
        await Task.WhenAll([writer, .. readers]);

        Assert.Empty(errors);
        Assert.Equal((initial + added) / 2, index.CountMatching(SearchFilter.Of(Filter.All(new KeywordMatch("parity", "even")))));
    }
}
