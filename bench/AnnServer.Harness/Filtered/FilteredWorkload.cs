using AnnServer.Core;
using AnnServer.Core.Filtering;
using AnnServer.Core.Payloads;

namespace AnnServer.Harness.Filtered;

/// <summary>One kind of filtered query: its name, the share of points it lets through, and each query's filter.</summary>
public sealed record FilterCase(string Name, string Field, double Selectivity, SearchFilter[] Filters);

/// <summary>
/// The payloads and filters of `ann-bench filtered`: each point carries its real Fashion-MNIST class as a keyword
/// ("class", 10 % each), generated keywords that split the points evenly into 2, 10, 100 and 1,000 values ("half",
/// "tenth", "hundredth", "thousandth": 50 %, 10 %, 1 %, 0.1 % per value, drawn at random, so unrelated to the images),
/// and a "price" uniform in [0, 100). Query q asks for value q mod n of a field, or a price range of width 10 or 1
/// starting at a point that moves with q; and for a class twice: its own (the filter agrees with the vectors: the
/// query's neighbours mostly pass) and another one (it disagrees: the passing points nearest the query lie past many
/// that fail, the hard case for a graph walk).
/// </summary>
public static class FilteredWorkload
{
    private const int Seed = 18;

    /// <summary>The payload of each base point, by row.</summary>
    public static Payload[] Payloads(byte[] classes)
    {
        int count = classes.Length;
        var random = new Random(Seed);
        // A permutation per field makes each value's share exact (n/values points), not merely expected.
        int[] half = Permutation(count, random), tenth = Permutation(count, random);
        int[] hundredth = Permutation(count, random), thousandth = Permutation(count, random);
        var payloads = new Payload[count];
        for (int i = 0; i < count; i++)
        {
            payloads[i] = new Payload
            {
                { "class", FashionMnistLabels.ClassNames[classes[i]] },
                { "half", $"h{half[i] % 2}" },
                { "tenth", $"t{tenth[i] % 10}" },
                { "hundredth", $"c{hundredth[i] % 100}" },
                { "thousandth", $"m{thousandth[i] % 1000}" },
                { "price", random.NextDouble() * 100 },
            };
        }
        return payloads;
    }

    /// <summary>The cases measured, each with one filter per query.</summary>
    public static List<FilterCase> Cases(byte[] classes, byte[] queryClasses)
    {
        int queries = queryClasses.Length;
        int classCount = FashionMnistLabels.ClassNames.Length;
        // Another class than the query's own, cycling through the nine others.
        int other(int q) => (queryClasses[q] + 1 + q % (classCount - 1)) % classCount;
        double classShare(int label) => classes.Count(c => c == label) / (double)Math.Max(1, classes.Length);
        return
        [
            Keyword("random 50 %", "half", 0.5, queries, q => $"h{q % 2}"),
            Keyword("own class 10 %", "class", Enumerable.Range(0, queries).Average(q => classShare(queryClasses[q])), queries,
                q => FashionMnistLabels.ClassNames[queryClasses[q]]),
            Keyword("other class 10 %", "class", Enumerable.Range(0, queries).Average(q => classShare(other(q))), queries,
                q => FashionMnistLabels.ClassNames[other(q)]),
            Keyword("random 10 %", "tenth", 0.1, queries, q => $"t{q % 10}"),
            Range("price range 10 %", queries, width: 10),
            Keyword("random 1 %", "hundredth", 0.01, queries, q => $"c{q % 100}"),
            Range("price range 1 %", queries, width: 1),
            Keyword("random 0.1 %", "thousandth", 0.001, queries, q => $"m{q % 1000}"),
        ];
    }

    private static FilterCase Keyword(string name, string field, double selectivity, int queries, Func<int, string> value)
    {
        var filters = new SearchFilter[queries];
        for (int q = 0; q < queries; q++) filters[q] = SearchFilter.Of(Filter.All(new KeywordMatch(field, value(q))));
        return new FilterCase(name, field, selectivity, filters);
    }

    private static FilterCase Range(string name, int queries, double width)
    {
        var filters = new SearchFilter[queries];
        for (int q = 0; q < queries; q++)
        {
            double low = q * 7 % (int)(100 - width);
            filters[q] = SearchFilter.Of(Filter.All(new NumericRange("price") { Gte = low, Lt = low + width }));
        }
        return new FilterCase(name, "price", width / 100, filters);
    }

    private static int[] Permutation(int count, Random random)
    {
        var values = new int[count];
        for (int i = 0; i < count; i++) values[i] = i;
        random.Shuffle(values);
        return values;
    }
}
