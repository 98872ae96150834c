using AnnServer.Protocol.V1;
using Google.Protobuf.Collections;
using Grpc.Core;

namespace AnnServer.Tests;

/// <summary>
/// Points with payloads of every kind, and filters of every condition kind each with the predicate it stands for, so a
/// test can say which points a filter must select. Point i: color = one of four keywords by i mod 4; price = i (double);
/// stock = i mod 10 (int64); tags = ["a", "b"] when i mod 3 = 0, an empty list when 1, absent when 2; sizes =
/// [i mod 5, i mod 7] (int64 list); sale = i even (bool); note = "n" only when i mod 5 = 0; labels [i mod 4].
/// </summary>
public static class PayloadData
{
    public const int Dimension = 8;
    public const int Points = 200;
    private static readonly string[] Colors = ["red", "green", "blue", "black"];

    public static async Task CreateAsync(RunningServer server, string name) =>
        await server.Collections.CreateCollectionAsync(new CreateCollectionRequest
        {
            Name = name, Dimension = Dimension, Metric = Metric.L2, M = 8, EfConstruction = 64,
        });

    public static float[] VectorOf(int i)
    {
        var random = new Random(i);
        var vector = new float[Dimension];
        for (int d = 0; d < Dimension; d++) vector[d] = (float)random.NextDouble();
        return vector;
    }

    public static MapField<string, PayloadValue> PayloadOf(int i)
    {
        var payload = new MapField<string, PayloadValue>
        {
            ["color"] = new PayloadValue { Keyword = Colors[i % 4] },
            ["price"] = new PayloadValue { DoubleValue = i },
            ["stock"] = new PayloadValue { Integer = i % 10 },
            ["sizes"] = new PayloadValue { IntegerList = new IntegerList { Values = { i % 5, i % 7 } } },
            ["sale"] = new PayloadValue { Boolean = i % 2 == 0 },
        };
        if (i % 3 == 0) payload["tags"] = new PayloadValue { KeywordList = new KeywordList { Values = { "a", "b" } } };
        if (i % 3 == 1) payload["tags"] = new PayloadValue { KeywordList = new KeywordList() };
        if (i % 5 == 0) payload["note"] = new PayloadValue { Keyword = "n" };
        return payload;
    }

    public static Point PointOf(int i)
    {
        var point = new Point { Id = i, Vector = { VectorOf(i) }, Labels = { i % 4 } };
        point.Payload.Add(PayloadOf(i));
        return point;
    }

    public static UpsertRequest Upsert(string collection, int first, int count)
    {
        var request = new UpsertRequest { Collection = collection };
        for (int i = first; i < first + count; i++) request.Points.Add(PointOf(i));
        return request;
    }

    public static Condition Match(string key, Match match) => new() { Field = new FieldCondition { Key = key, Match = match } };

    public static Condition Field(string key, NumericRange range) => new() { Field = new FieldCondition { Key = key, Range = range } };

    /// <summary>One filter per condition kind (and their combinations), with the predicate over i it must select by.</summary>
    public static IReadOnlyDictionary<string, (Filter Filter, Func<int, bool> Predicate)> Filters { get; } =
        new Dictionary<string, (Filter, Func<int, bool>)>
        {
            ["keyword"] = (new Filter { Must = { Match("color", new Match { Keyword = "red" }) } }, i => i % 4 == 0),
            ["keywords"] = (new Filter { Must = { Match("color", new Match { Keywords = new KeywordList { Values = { "green", "black" } } }) } },
                i => i % 4 is 1 or 3),
            ["keyword list element"] = (new Filter { Must = { Match("tags", new Match { Keyword = "b" }) } }, i => i % 3 == 0),
            ["integer"] = (new Filter { Must = { Match("stock", new Match { Integer = 7 }) } }, i => i % 10 == 7),
            ["integers"] = (new Filter { Must = { Match("stock", new Match { Integers = new IntegerList { Values = { 1, 2 } } }) } },
                i => i % 10 is 1 or 2),
            ["integer list element"] = (new Filter { Must = { Match("sizes", new Match { Integer = 6 }) } }, i => i % 7 == 6),
            ["double range"] = (new Filter { Must = { Field("price", new NumericRange { Gte = 10, Lt = 30 }) } }, i => i is >= 10 and < 30),
            ["integer range"] = (new Filter { Must = { Field("stock", new NumericRange { Gt = 7 }) } }, i => i % 10 > 7),
            ["integer list range"] = (new Filter { Must = { Field("sizes", new NumericRange { Lte = 0 }) } }, i => i % 5 == 0 || i % 7 == 0),
            ["bool"] = (new Filter { Must = { Match("sale", new Match { Boolean = false }) } }, i => i % 2 == 1),
            ["is null"] = (new Filter { Must = { new Condition { IsNull = new IsNullCondition { Key = "note" } } } }, i => i % 5 != 0),
            ["is null of an empty list"] = (new Filter { Must = { new Condition { IsNull = new IsNullCondition { Key = "tags" } } } }, i => i % 3 == 2),
            ["is empty"] = (new Filter { Must = { new Condition { IsEmpty = new IsEmptyCondition { Key = "tags" } } } }, i => i % 3 != 0),
            ["has id"] = (new Filter { Must = { new Condition { HasId = new HasIdCondition { Ids = { 3, 4, 150, 9999 } } } } }, i => i is 3 or 4 or 150),
            ["not id"] = (new Filter { MustNot = { new Condition { HasId = new HasIdCondition { Ids = { 3, 4 } } } } }, i => i is not (3 or 4)),
            ["labels"] = (new Filter { Must = { new Condition { Labels = new LabelsCondition { AnyOf = { 2 } } } } }, i => i % 4 == 2),
            ["should"] = (new Filter
            {
                Should = { Match("color", new Match { Keyword = "red" }), Field("price", new NumericRange { Gt = 190 }) },
            }, i => i % 4 == 0 || i > 190),
            ["must not"] = (new Filter
            {
                Must = { Field("price", new NumericRange { Lt = 50 }) },
                MustNot = { Match("sale", new Match { Boolean = true }), Match("color", new Match { Keyword = "green" }) },
            }, i => i < 50 && i % 2 == 1 && i % 4 != 1),
            ["nested with legacy fields"] = (new Filter
            {
                Must =
                {
                    Match("stock", new Match { Integers = new IntegerList { Values = { 0, 1, 2, 3 } } }),
                    new Condition { Filter = new Filter { AnyOfLabels = { 0, 1 }, ExcludedIds = { 0 }, Should = { Field("price", new NumericRange { Gte = 100 }), Match("sale", new Match { Boolean = true }) } } },
                },
            }, i => i % 10 < 4 && i % 4 is 0 or 1 && i != 0 && (i >= 100 || i % 2 == 0)),
            ["expression beside legacy fields"] = (new Filter
            {
                AnyOfLabels = { 3 },
                Must = { Field("price", new NumericRange { Lt = 100 }) },
            }, i => i % 4 == 3 && i < 100),
        };

    /// <summary>Awaits the call and asserts it failed with <paramref name="expected"/> and a message mentioning each of
    /// <paramref name="mentions"/>.</summary>
    public static async Task<RpcException> Fails(StatusCode expected, Task call, params string[] mentions)
    {
        RpcException e = await Assert.ThrowsAsync<RpcException>(() => call);
        Assert.Equal(expected, e.StatusCode);
        foreach (string mention in mentions) Assert.Contains(mention, e.Status.Detail);
        return e;
    }
}
