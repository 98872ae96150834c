using System.Diagnostics;
using AnnServer.Cluster.State;
using AnnServer.Protocol.V1;
using AnnServer.Services;
using Google.Protobuf.Collections;
using Grpc.Core;

namespace AnnServer.Cluster;

/// <summary>
/// Search, SearchBatch and Get on a cluster collection: validates the request against the collection's spec (the router
/// holds no data, so the dimension comes from the spec), then lets the <see cref="Cluster.Routing.ShardRouter"/> fan it
/// out with the caller's deadline. A node with role replica routes nothing: it refuses all three.
/// </summary>
internal static class ClusterReads
{
    public static async Task<SearchResponse> SearchAsync(ClusterCoordinator cluster, ClusterCollectionSpec spec, SearchRequest request,
        int ef, ServerCallContext context)
    {
        long start = Stopwatch.GetTimestamp();
        RequireRouter(cluster, spec);
        CheckVector(request.Query, spec, "query");
        var queries = new RepeatedField<BatchQuery> { new BatchQuery { Vector = { request.Query }, Filter = request.Filter } };
        SearchBatchResponse merged = await cluster.Router.SearchAsync(cluster.View, spec, queries, request.K, ef,
            MinSequences(request.MinSequences, spec), request.AllowPartial, Deadline(context), context.CancellationToken);
        var response = new SearchResponse();
        response.Hits.Add(merged.Results[0].Hits);
        response.MissingShards.Add(merged.MissingShards);
        response.ServerTimeMicros = (ulong)Stopwatch.GetElapsedTime(start).TotalMicroseconds;
        return response;
    }

    public static async Task<SearchBatchResponse> SearchBatchAsync(ClusterCoordinator cluster, ClusterCollectionSpec spec,
        SearchBatchRequest request, int ef, ServerCallContext context)
    {
        long start = Stopwatch.GetTimestamp();
        RequireRouter(cluster, spec);
        for (int i = 0; i < request.Queries.Count; i++)
            CheckVector(request.Queries[i].Vector, spec, $"queries[{i}].vector");
        SearchBatchResponse response = await cluster.Router.SearchAsync(cluster.View, spec, request.Queries, request.K, ef,
            MinSequences(request.MinSequences, spec), request.AllowPartial, Deadline(context), context.CancellationToken);
        response.ServerTimeMicros = (ulong)Stopwatch.GetElapsedTime(start).TotalMicroseconds;
        return response;
    }

    /// <summary>The ids from the replicas of the shards they hash to, in request order, missing ids listed; the
    /// node's own replicas are read in process. UNAVAILABLE names a shard none of whose replicas answered;
    /// INVALID_ARGUMENT an answer over this node's --max-message-bytes (<see cref="CheckAnswerSize"/>).</summary>
    public static async Task<GetResponse> GetAsync(ClusterCoordinator cluster, ClusterCollectionSpec spec, GetRequest request, ServerCallContext context)
    {
        RequireRouter(cluster, spec);
        GetResponse response = await cluster.Router.GetAsync(cluster.View, spec, request.Ids, MinSequences(request.MinSequences, spec),
            Deadline(context), context.CancellationToken);
        CheckAnswerSize(response, spec.Dimension, request.Ids.Count, cluster.MaxMessageBytes);
        return response;
    }

    /// <summary>
    /// Measures the merged answer of a Get as a single server measures its own (PointLookup.Run: the least a point
    /// weighs plus 5 bytes per label, in the answer's order) and refuses it with the same INVALID_ARGUMENT. Each replica
    /// bounded only its own shard's part, each id once: the parts together, with an id asked twice counted twice, can
    /// still be over the limit. Measured after the merge because the merged answer shares the parts' Point objects:
    /// building it costs a list of references, sending it would cost the bytes.
    /// </summary>
    private static void CheckAnswerSize(GetResponse response, int dimension, int idCount, long maxAnswerBytes)
    {
        long answerBytes = 0;
        for (int i = 0; i < response.Points.Count; i++)
        {
            answerBytes += RequestValidation.GetAnswerBytes(dimension, response.Points[i].Labels.Count);
            // PointLookup.Run's error: through a router a Get fails as it would on one server.
            if (answerBytes > maxAnswerBytes)
                throw RequestValidation.GetAnswerTooLarge(maxAnswerBytes, i + 1, idCount);
        }
    }

    private static void RequireRouter(ClusterCoordinator cluster, ClusterCollectionSpec spec)
    {
        if (!cluster.Role.Routes())
            throw new RpcException(new Status(StatusCode.FailedPrecondition,
                $"collection '{spec.Name}' is a cluster collection and node '{cluster.NodeId}' has role replica: send Search, SearchBatch and Get to a node with role all or router"));
    }

    private static void CheckVector(RepeatedField<float> vector, ClusterCollectionSpec spec, string field)
    {
        if (vector.Count != spec.Dimension)
        {
            throw RequestValidation.Invalid(vector.Count == 0
                ? $"{field} is empty: collection '{spec.Name}' expects {spec.Dimension} components"
                : $"{field} has {vector.Count} components, but collection '{spec.Name}' has dimension {spec.Dimension}");
        }
        int bad = RequestValidation.FirstNonFinite(PackedFloats.AsSpan(vector));
        if (bad >= 0)
            throw RequestValidation.Invalid($"{field}[{bad}] is {(float.IsNaN(vector[bad]) ? "NaN" : "infinite")}: components must be finite");
    }

    /// <summary>The highest sequence asked per shard; INVALID_ARGUMENT for a shard the collection does not have.</summary>
    private static Dictionary<int, ulong>? MinSequences(RepeatedField<ShardSequence> sequences, ClusterCollectionSpec spec)
    {
        if (sequences.Count == 0)
            return null;
        var byShard = new Dictionary<int, ulong>();
        foreach (ShardSequence sequence in sequences)
        {
            if (sequence.Shard >= spec.Shards)
                throw RequestValidation.Invalid(
                    $"min_sequences names shard {sequence.Shard}, but collection '{spec.Name}' has shards 0 to {spec.Shards - 1}");
            int shard = (int)sequence.Shard;
            byShard[shard] = Math.Max(byShard.GetValueOrDefault(shard), sequence.Sequence);
        }
        return byShard;
    }

    /// <summary>The caller's deadline, passed on to every shard; null when it set none.</summary>
    private static DateTime? Deadline(ServerCallContext context) =>
        context.Deadline == DateTime.MaxValue ? null : context.Deadline;
}
