using AnnServer.Protocol.V1;
using FsCheck;
using FsCheck.Fluent;
using Google.Protobuf;

namespace AnnServer.Fuzz.Tests;

/// <summary>One call to send: a full gRPC method name, the request's bytes (a valid message, or one mangled on purpose)
/// and the authorization header, if any.</summary>
public sealed record FuzzCall(string Service, string Method, byte[] Body, string? Authorization, string Shape)
{
    public override string ToString() =>
        $"{Service}/{Method} ({Shape}, {Body.Length} bytes, auth {(Authorization is null ? "none" : Authorization.Length > 40 ? Authorization[..40] + "…" : Authorization)}): {Convert.ToHexString(Body.AsSpan(0, Math.Min(Body.Length, 64)))}";
}

/// <summary>
/// FsCheck generators of requests for every ann.v1 method: mostly well-formed, with every field drawn often from its
/// edge and wrong values (wrong vector lengths, NaN and infinities, huge k and ef, empty, oversized and path-like
/// names, unknown enum values, extreme ids), then sometimes mangled as bytes (flipped, truncated, extended, replaced by
/// random bytes). Collections "f" (dimension 8) and "g" (dimension 3) exist; ids are drawn mostly from 0..40.
/// </summary>
public static class RequestGenerators
{
    public const int Dimension = 8;
    public const string AdminKey = "fuzz-admin-key";
    public static readonly string[] Fixtures = ["f", "g"];

    private const string Vectors = "ann.v1.VectorService";
    private const string Collections = "ann.v1.CollectionService";

    public static Gen<FuzzCall> Calls { get; } =
        from typed in Gen.OneOf(
            Search(), SearchBatch(), Upsert(), Delete(), Get(),
            CreateCollection(), DropCollection(), Checkpoint(), Info(), List())
        from mangled in Mangle(typed.Body)
        from authorization in Gen.Frequency(
            (12, Gen.Constant<string?>("Bearer " + AdminKey)),
            (1, Gen.Constant<string?>(null)),
            (1, Gen.Elements<string?>("Bearer ", "Bearer wrong", "Basic " + AdminKey, AdminKey, "bearer " + AdminKey + " ")),
            (1, Ascii(0, 300).Select<string, string?>(t => "Bearer " + t)))
        select typed with { Body = mangled.Body, Shape = mangled.Shape, Authorization = authorization };

    // ---- fields ---------------------------------------------------------------------------------------------

    /// <summary>Mostly "f" (the collection most requests are shaped for), then "g", new names and broken ones.</summary>
    public static Gen<string> CollectionName() => Gen.Frequency(
        (14, Gen.Elements("f", "f", "f", "g")),
        (2, NewName()),
        (2, BrokenName()),
        (1, Text(0, 80)));

    /// <summary>For CreateCollection and DropCollection: mostly names that may or may not exist yet.</summary>
    private static Gen<string> AdminName() => Gen.Frequency(
        (6, NewName()),
        (1, Gen.Elements(Fixtures)),
        (2, BrokenName()),
        (1, Text(0, 80)));

    private static Gen<string> NewName() => Gen.Elements("absent", "n0", "n1", "n2", "n3", "n-4", "N_5");

    private static Gen<string> BrokenName() => Gen.Elements("", " ", ".", "..", "../f", "f/..", "/etc", "/", "a/b", "a\\b", "f\0", "\0", "f ", "F", "ф",
            "con", "f.snap", "~", "$HOME", "%2e%2e", new string('a', 64), new string('a', 65), new string('x', 3000));

    private static Gen<string> Text(int min, int max) =>
        from length in Gen.Choose(min, max)
        from chars in Gen.ArrayOf(Gen.Frequency((6, Gen.Choose(32, 126)), (1, Gen.Choose(0, 0xFFFF))), length)
        select new string(chars.Select(c => (char)c).ToArray());

    /// <summary>Printable ASCII: what an HTTP/2 client can send as a header value.</summary>
    private static Gen<string> Ascii(int min, int max) =>
        from length in Gen.Choose(min, max)
        from chars in Gen.ArrayOf(Gen.Choose(32, 126), length)
        select new string(chars.Select(c => (char)c).ToArray());

    private static Gen<float> Component() => Gen.Frequency(
        (40, Gen.Choose(-1000, 1000).Select(i => i / 100f)),
        (1, Gen.Elements(float.NaN, float.PositiveInfinity, float.NegativeInfinity, float.MaxValue, float.MinValue,
            float.Epsilon, -0f, 1e-40f, 3e38f)));

    private static Gen<float[]> Vector() =>
        from length in Gen.Frequency(
            (8, Gen.Constant(Dimension)),
            (1, Gen.Elements(0, 1, 3, Dimension - 1, Dimension + 1, 3 * Dimension)),
            (1, Gen.Choose(0, 2000)))
        from components in Gen.ArrayOf(Component(), length)
        select components;

    private static Gen<int> K() => Gen.Frequency(
        (8, Gen.Choose(1, 20)),
        (1, Gen.Elements(int.MinValue, -1, 0, 50, 51, 1000, int.MaxValue)));

    private static Gen<int?> Ef() => Gen.Frequency(
        (3, Gen.Constant<int?>(null)),
        (3, Gen.Choose(1, 150).Select(i => (int?)i)),
        (1, Gen.Elements<int?>(int.MinValue, -1, 0, 200, 201, int.MaxValue)));

    private static Gen<long> Id() => Gen.Frequency(
        (10, Gen.Choose(0, 40).Select(i => (long)i)),
        (1, Gen.Elements(long.MinValue, -1L, long.MaxValue, 1L << 40, int.MaxValue + 1L)));

    private static Gen<long[]> Ids() =>
        from count in Gen.Frequency((8, Gen.Choose(1, 6)), (1, Gen.Constant(0)), (1, Gen.Choose(100, 3000)))
        from ids in Gen.ArrayOf(Id(), count)
        select ids;

    private static Gen<int[]> Labels() => Gen.Frequency(
        (5, Gen.Constant(Array.Empty<int>())),
        (3, Gen.ArrayOf(Gen.Choose(-3, 12), 3)),
        (1, Gen.ArrayOf(Gen.Elements(int.MinValue, int.MaxValue, 0, -1), 2)),
        (1, Gen.Choose(0, 2000).SelectMany(n => Gen.ArrayOf(Gen.Choose(0, 9), n))));

    private static Gen<Filter?> FilterOrNone() => Gen.Frequency(
        (4, Gen.Constant<Filter?>(null)),
        (2, from labels in Labels()
            from excluded in Gen.Frequency((4, Gen.ArrayOf(Id(), 3)), (1, Gen.ArrayOf(Id(), 5000)))
            select (Filter?)new Filter { AnyOfLabels = { labels }, ExcludedIds = { excluded } }));

    // ---- requests -------------------------------------------------------------------------------------------

    private static Gen<FuzzCall> Typed(string service, string method, Gen<IMessage> request) =>
        request.Select(r => new FuzzCall(service, method, r.ToByteArray(), null, "valid"));

    private static Gen<FuzzCall> Search() => Typed(Vectors, "Search",
        from name in CollectionName()
        from query in Vector()
        from k in K()
        from ef in Ef()
        from filter in FilterOrNone()
        select (IMessage)WithEf(new SearchRequest { Collection = name, Query = { query }, K = k, Filter = filter }, ef));

    private static SearchRequest WithEf(SearchRequest request, int? ef)
    {
        if (ef is int value) request.Ef = value;
        return request;
    }

    private static Gen<FuzzCall> SearchBatch() => Typed(Vectors, "SearchBatch",
        from name in CollectionName()
        from count in Gen.Frequency((6, Gen.Choose(1, 4)), (1, Gen.Constant(0)), (1, Gen.Choose(9, 12)))
        from queries in Gen.ArrayOf(
            from vector in Vector()
            from filter in FilterOrNone()
            select new BatchQuery { Vector = { vector }, Filter = filter }, count)
        from k in K()
        from ef in Ef()
        select (IMessage)WithEf(new SearchBatchRequest { Collection = name, Queries = { queries }, K = k }, ef));

    private static SearchBatchRequest WithEf(SearchBatchRequest request, int? ef)
    {
        if (ef is int value) request.Ef = value;
        return request;
    }

    private static Gen<FuzzCall> Upsert() => Typed(Vectors, "Upsert",
        from name in CollectionName()
        from count in Gen.Frequency((8, Gen.Choose(1, 5)), (1, Gen.Constant(0)), (1, Gen.Choose(150, 400)))
        from points in Gen.ArrayOf(
            from id in Id()
            from vector in Gen.Frequency((6, Gen.ArrayOf(Gen.Choose(-100, 100).Select(i => i / 10f), Dimension)), (1, Vector()))
            from labels in Labels()
            select new Point { Id = id, Vector = { vector }, Labels = { labels } }, count)
        select (IMessage)new UpsertRequest { Collection = name, Points = { points } });

    private static Gen<FuzzCall> Delete() => Typed(Vectors, "Delete",
        from name in CollectionName()
        from ids in Ids()
        select (IMessage)new DeleteRequest { Collection = name, Ids = { ids } });

    private static Gen<FuzzCall> Get() => Typed(Vectors, "Get",
        from name in CollectionName()
        from ids in Ids()
        select (IMessage)new GetRequest { Collection = name, Ids = { ids } });

    private static Gen<FuzzCall> CreateCollection() => Typed(Collections, "CreateCollection",
        from name in AdminName()
        from dimension in Gen.Frequency((4, Gen.Choose(1, 64).Select(d => (uint)d)), (1, Gen.Elements(0u, 4096u, 4097u, 65536u, uint.MaxValue)))
        from metric in Gen.Frequency((6, Gen.Choose(0, 3)), (1, Gen.Elements(-1, 4, 99, int.MaxValue, int.MinValue)))
        from m in Gen.Elements(0u, 1u, 2u, 8u, 16u, 128u, 129u, uint.MaxValue)
        from efConstruction in Gen.Elements(0u, 1u, 40u, 4096u, 4097u, uint.MaxValue)
        from quantization in Gen.Frequency((6, Gen.Choose(0, 2)), (1, Gen.Elements(-7, 3, 1000)))
        select (IMessage)new CreateCollectionRequest
        {
            Name = name, Dimension = dimension, Metric = (Metric)metric, M = m, EfConstruction = efConstruction,
            Quantization = (Quantization)quantization,
        });

    private static Gen<FuzzCall> DropCollection() => Typed(Collections, "DropCollection",
        AdminName().Where(name => !Fixtures.Contains(name)).Select(name => (IMessage)new DropCollectionRequest { Name = name }));

    private static Gen<FuzzCall> Checkpoint() => Typed(Collections, "Checkpoint",
        CollectionName().Select(name => (IMessage)new CheckpointRequest { Name = name }));

    private static Gen<FuzzCall> Info() => Typed(Collections, "GetCollectionInfo",
        CollectionName().Select(name => (IMessage)new GetCollectionInfoRequest { Name = name }));

    private static Gen<FuzzCall> List() => Typed(Collections, "ListCollections", Gen.Constant((IMessage)new ListCollectionsRequest()));

    // ---- bytes ----------------------------------------------------------------------------------------------

    /// <summary>The message as it is (most often), or its bytes flipped, truncated, extended or replaced.</summary>
    private static Gen<(byte[] Body, string Shape)> Mangle(byte[] body) => Gen.Frequency(
        (14, Gen.Constant((body, "valid"))),
        (2, from flips in Gen.ArrayOf(Gen.Zip(Gen.Choose(0, Math.Max(0, body.Length - 1)), Gen.Choose(1, 255)), 3)
            select (Flip(body, flips), "flipped")),
        (1, Gen.Choose(0, Math.Max(0, body.Length - 1)).Select(length => (body[..Math.Min(length, body.Length)], "truncated"))),
        (1, RandomBytes(1, 64).Select(tail => (body.Concat(tail).ToArray(), "extended"))),
        (1, RandomBytes(0, 512).Select(bytes => (bytes, "random"))),
        (1, Gen.Choose(64 * 1024, 80 * 1024).Select(length => (new byte[length], "oversized"))));

    private static Gen<byte[]> RandomBytes(int min, int max) =>
        from length in Gen.Choose(min, max)
        from bytes in Gen.ArrayOf(Gen.Choose(0, 255).Select(b => (byte)b), length)
        select bytes;

    private static byte[] Flip(byte[] body, (int Position, int Mask)[] flips)
    {
        byte[] copy = [.. body];
        if (copy.Length == 0) return copy;
        foreach (var (position, mask) in flips)
            copy[position % copy.Length] ^= (byte)mask;
        return copy;
    }
}
