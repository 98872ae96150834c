using System.Diagnostics;
using System.Globalization;
using AnnServer.Protocol.V1;
using AnnServer.Services;

namespace AnnServer.Benchmarks;

/// <summary>
/// What a linked keyword field costs a write: durable Upserts of generated clustered points, each with a keyword
/// "category" (10 values, each spread over a tenth of the clusters), through the server's own services (no socket; the
/// log on disk, Strict durability) into a collection created with or without <c>linked_fields: ["category"]</c>. Run
/// both in turn, paired, and read the ratio of their CPU and wall times (bench/results/linked-writes.md):
///
///   dotnet bench/AnnServer.Benchmarks/bin/Release/net10.0/AnnServer.Benchmarks.dll linked-writes [--linked] [--points 6000]
///       [--dimension 128] [--batch 100]
/// </summary>
public static class LinkedWrites
{
    public static async Task<int> RunAsync(string[] args)
    {
        bool linked = args.Contains("--linked");
        int points = InProcessServer.Option(args, "--points", 6000);
        int dimension = InProcessServer.Option(args, "--dimension", 128);
        int batch = InProcessServer.Option(args, "--batch", 100);
        const int Clusters = 100;
        const int Values = 10;

        await using InProcessServer server = await InProcessServer.StartAsync("linked-writes");
        var collections = server.Service<CollectionGrpcService>();
        var vectors = server.Service<VectorGrpcService>();
        var context = new DirectCallContext();
        var create = new CreateCollectionRequest { Name = "w", Dimension = (uint)dimension, Metric = Metric.L2, M = 16, EfConstruction = 200 };
        if (linked) create.LinkedFields.Add("category");
        await collections.CreateCollection(create, context);

        var random = new Random(42);
        var centers = new float[Clusters * dimension];
        for (int i = 0; i < centers.Length; i++) centers[i] = (float)random.NextDouble();
        var requests = new List<UpsertRequest>();
        for (int first = 0; first < points; first += batch)
        {
            var upsert = new UpsertRequest { Collection = "w" };
            for (int id = first; id < Math.Min(points, first + batch); id++)
            {
                int cluster = random.Next(Clusters);
                var vector = new float[dimension];
                for (int d = 0; d < dimension; d++) vector[d] = centers[cluster * dimension + d] + (float)(random.NextDouble() - 0.5) * 0.2f;
                upsert.Points.Add(new Point
                {
                    Id = id, Vector = { vector },
                    Payload = { ["category"] = new PayloadValue { Keyword = $"v{cluster % Values}" } },
                });
            }
            requests.Add(upsert);
        }

        var clock = Stopwatch.StartNew();
        foreach (UpsertRequest upsert in requests) await vectors.Upsert(upsert, context);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{(linked ? "linked" : "unlinked")}: {points} points of dimension {dimension} in batches of {batch}: {points / clock.Elapsed.TotalSeconds:F0} points/s"));
        return 0;
    }
}
