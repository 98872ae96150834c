using AnnServer.Core;
using AnnServer.Core.Sharding;
using AnnServer.Protocol.Internal.V1;
using AnnServer.Protocol.V1;
using Grpc.Core;

namespace AnnServer.Cluster.Tests;

/// <summary>
/// A small synthetic data set for the cluster tests: random vectors in [−1, 1), ids spread over the whole long range
/// (negative and large, so the hash sees more than small integers), and a label unique to each point (its row), so a
/// replica can be asked exactly whether it holds a point: a search filtered on one label matching one point is an exact
/// scan (HnswIndex.Search switches to a scan when few points match).
/// </summary>
public sealed class ClusterData
{
    public ClusterData(int count, int dimension, int seed, int firstRow = 0)
    {
        Count = count;
        Dimension = dimension;
        FirstRow = firstRow;
        Vectors = RandomVectors(count, dimension, seed);
        Ids = Enumerable.Range(firstRow, count).Select(IdOf).ToArray();
    }

    public int Count { get; }
    public int Dimension { get; }
    public int FirstRow { get; }
    public float[] Vectors { get; }
    public long[] Ids { get; }

    /// <summary>The id of global row <paramref name="row"/>: distinct for distinct rows, half of them negative.</summary>
    public static long IdOf(int row) => (row % 2 == 0 ? 1 : -1) * (1_000_003L * row + 17);

    public float[] Row(int i) => Vectors.AsSpan(i * Dimension, Dimension).ToArray();

    public Point Point(int i) => new() { Id = Ids[i], Vector = { Row(i) }, Labels = { FirstRow + i } };

    public static float[] RandomVectors(int count, int dimension, int seed)
    {
        var random = new Random(seed);
        var data = new float[count * dimension];
        for (int i = 0; i < data.Length; i++) data[i] = (float)(random.NextDouble() * 2 - 1);
        return data;
    }

    /// <summary>Upserts rows [from, to) in batches; returns the highest sequence each shard acknowledged.</summary>
    public async Task<Dictionary<uint, ulong>> UpsertAsync(VectorService.VectorServiceClient client, string collection, int batch = 500, int from = 0, int to = -1)
    {
        if (to < 0) to = Count;
        var sequences = new Dictionary<uint, ulong>();
        for (int start = from; start < to; start += batch)
        {
            var request = new UpsertRequest { Collection = collection };
            for (int i = start; i < Math.Min(to, start + batch); i++) request.Points.Add(Point(i));
            UpsertResponse response = await client.UpsertAsync(request, deadline: DateTime.UtcNow.AddSeconds(30));
            Merge(sequences, response.Sequences);
        }
        return sequences;
    }

    public static void Merge(Dictionary<uint, ulong> into, IEnumerable<ShardSequence> sequences)
    {
        foreach (ShardSequence s in sequences)
            into[s.Shard] = Math.Max(into.GetValueOrDefault(s.Shard), s.Sequence);
    }

    public static void Merge(Dictionary<uint, ulong> into, IReadOnlyDictionary<uint, ulong> sequences)
    {
        foreach ((uint shard, ulong sequence) in sequences)
            into[shard] = Math.Max(into.GetValueOrDefault(shard), sequence);
    }

    public static IEnumerable<ShardSequence> AsShardSequences(IReadOnlyDictionary<uint, ulong> sequences) =>
        sequences.Select(p => new ShardSequence { Shard = p.Key, Sequence = p.Value });

    /// <summary>Rows whose id hashes to <paramref name="shard"/> of <paramref name="shards"/>.</summary>
    public int[] RowsOfShard(int shard, int shards) => Enumerable.Range(0, Count).Where(i => ShardHash.ShardOf(Ids[i], shards) == shard).ToArray();

    /// <summary>
    /// Which of <paramref name="rows"/> the replica of <paramref name="shard"/> on <paramref name="node"/> holds with
    /// exactly their vector: one exact, label-filtered query per row, k = 1, distance 0. Waits for
    /// <paramref name="minSequence"/> first.
    /// </summary>
    public async Task<HashSet<int>> HeldRowsAsync(AnnServerNode node, string collection, uint shard, IReadOnlyList<int> rows, ulong minSequence = 0)
    {
        var held = new HashSet<int>();
        const int perCall = 1000; // under the default --max-batch-queries 1024
        for (int start = 0; start < rows.Count; start += perCall)
        {
            var request = new ShardSearchRequest { Collection = collection, Shard = shard, K = 1, MinSequence = minSequence };
            int[] part = rows.Skip(start).Take(perCall).ToArray();
            foreach (int row in part)
                request.Queries.Add(new BatchQuery { Vector = { Row(row) }, Filter = new Filter { AnyOfLabels = { FirstRow + row } } });
            SearchBatchResponse response = await node.Shards.SearchShardAsync(request, deadline: DateTime.UtcNow.AddSeconds(30));
            Assert.Equal(part.Length, response.Results.Count);
            for (int q = 0; q < part.Length; q++)
            {
                if (response.Results[q].Hits.Count == 1 && response.Results[q].Hits[0].Id == Ids[part[q]] && response.Results[q].Hits[0].Distance == 0)
                    held.Add(part[q]);
            }
        }
        return held;
    }

    /// <summary>Recall@k of <paramref name="results"/> (ids per query) against exact search over this data.</summary>
    public double Recall(float[] queries, int k, IReadOnlyList<long[]> results)
    {
        SearchHit[][] exact = ExactSearch.SearchBatch(Vectors, queries, Dimension, k, DistanceMetric.L2);
        int found = 0;
        for (int q = 0; q < exact.Length; q++)
        {
            var truth = exact[q].Select(h => Ids[(int)h.Id]).ToHashSet();
            found += results[q].Count(truth.Contains);
        }
        return (double)found / (exact.Length * k);
    }

    /// <summary>Status code of a failed call, or OK.</summary>
    public static async Task<StatusCode> StatusOfAsync(Func<Task> call)
    {
        try
        {
            await call();
            return StatusCode.OK;
        }
        catch (RpcException e)
        {
            return e.StatusCode;
        }
    }
}
