using AnnServer.Core.Filtering;
using AnnServer.Core.Payloads;
using FsCheck;
using FsCheck.Fluent;

namespace AnnServer.Core.Tests.Filtering;

/// <summary>
/// Points with random payloads over a small vocabulary (so conditions match some and miss others), and random filters
/// over the same fields, including values and fields no point has.
/// </summary>
internal static class FilterTestData
{
    public const int Dimension = 4;
    public static readonly string[] Colors = ["red", "green", "blue", "black"];
    public static readonly string[] Tags = ["a", "b", "c", "d"];
    public static readonly long[] Sizes = [36, 38, 40, 42, 44];
    public static readonly double[] Prices = [-1, 0, 0.5, 1, 9.99, 10, 10.01, 50, 99.5, double.PositiveInfinity];

    public sealed record Point(long Id, Payload Payload, int[] Labels);

    public static Point[] Points(int count, int seed)
    {
        var random = new Random(seed);
        var points = new Point[count];
        for (int i = 0; i < count; i++)
        {
            var payload = new Payload();
            if (random.NextDouble() < 0.7) payload.Add("color", Colors[random.Next(Colors.Length)]);
            if (random.NextDouble() < 0.7) payload.Add("tags", PayloadValue.Keywords([.. Tags.Where(_ => random.NextDouble() < 0.3)]));
            if (random.NextDouble() < 0.7) payload.Add("stock", (long)random.Next(-3, 13));
            if (random.NextDouble() < 0.7) payload.Add("sizes", PayloadValue.Int64s([.. Sizes.Where(_ => random.NextDouble() < 0.3)]));
            if (random.NextDouble() < 0.7) payload.Add("price", Prices[random.Next(Prices.Length)]);
            if (random.NextDouble() < 0.7) payload.Add("sponsored", random.NextDouble() < 0.3);
            int[] labels = [.. Enumerable.Range(1, 6).Where(_ => random.NextDouble() < 0.25)];
            points[i] = new Point(i, payload, labels);
        }
        return points;
    }

    public static HnswIndex Index(Point[] points, int seed)
    {
        var random = new Random(seed);
        var vectors = new float[points.Length * Dimension];
        for (int i = 0; i < vectors.Length; i++) vectors[i] = (float)random.NextDouble();
        var index = new HnswIndex(new HnswOptions { Dimension = Dimension, M = 8, EfConstruction = 40 });
        index.UpsertMany(vectors, points.Select(p => p.Id).ToArray(), points.Select(p => (int[]?)p.Labels).ToList(),
            points.Select(p => (Payload?)p.Payload).ToList(), threads: 1);
        return index;
    }

    public static Gen<FilterClause> Condition(int points)
    {
        var bound = Gen.Elements<double?>(null, -2, 0, 0.5, 5, 9.99, 10, 10.5, 40, 50, double.PositiveInfinity);
        var range = from field in Gen.Elements("price", "stock", "sizes", "missing")
                    from gt in bound from gte in bound from lt in bound from lte in bound
                    from which in Gen.Choose(0, 15)
                    select (FilterClause)new NumericRange(field)
                    {
                        Gt = (which & 1) != 0 ? gt : null, Gte = (which & 2) != 0 ? gte : null,
                        Lt = (which & 4) != 0 ? lt : null, Lte = (which & 8) != 0 ? lte : null,
                    };
        return Gen.OneOf(
            from field in Gen.Elements("color", "tags", "missing")
            from values in NonEmpty(Gen.Elements("red", "green", "blue", "black", "white", "a", "b", "c", "d", "z"), 3)
            select (FilterClause)new KeywordMatch(field, values),
            from field in Gen.Elements("stock", "sizes", "missing")
            from values in NonEmpty(Gen.Elements(-4L, -3L, 0L, 1L, 5L, 12L, 13L, 36L, 40L, 44L, 45L), 3)
            select (FilterClause)new IntegerMatch(field, values),
            range,
            from field in Gen.Elements("sponsored", "missing")
            from value in Gen.Elements(false, true)
            select (FilterClause)new BoolMatch(field, value),
            from field in Gen.Elements("color", "tags", "stock", "sizes", "price", "sponsored", "missing")
            select (FilterClause)new IsNull(field),
            from field in Gen.Elements("color", "tags", "stock", "sizes", "price", "sponsored", "missing")
            select (FilterClause)new IsEmpty(field),
            from ids in NonEmpty(Gen.Choose(-1, points + 2).Select(i => (long)i), 6)
            select (FilterClause)new HasId(ids),
            from labels in NonEmpty(Gen.Choose(0, 7), 3)
            select (FilterClause)new LabelMatch(labels));
    }

    /// <summary>Filters up to three deep with up to three clauses in each part.</summary>
    public static Gen<Filter> Filters(int points) => FilterOfDepth(points, 3);

    private static Gen<Filter> FilterOfDepth(int points, int depth)
    {
        Gen<FilterClause> clause = depth <= 1
            ? Condition(points)
            : Gen.Frequency((3, Condition(points)), (1, FilterOfDepth(points, depth - 1).Select(f => (FilterClause)f)));
        Gen<FilterClause[]> part = Gen.Choose(0, 3).SelectMany(n => Gen.ArrayOf(clause, n));
        return from must in part from should in part from mustNot in part
               select new Filter(must, should, mustNot);
    }

    private static Gen<T[]> NonEmpty<T>(Gen<T> element, int max) => Gen.Choose(1, max).SelectMany(n => Gen.ArrayOf(element, n));
}
