using AnnServer.Collections;
using AnnServer.Core;
using AnnServer.Protocol.V1;
using Google.Protobuf.Collections;
using Grpc.Core;

namespace AnnServer.Services;

/// <summary>Conversions between the protobuf messages and the domain types.</summary>
internal static class ProtoMapping
{
    /// <summary>The domain metric of a request's metric; INVALID_ARGUMENT when unset or unknown.</summary>
    public static DistanceMetric ToDistanceMetric(Metric metric) => metric switch
    {
        Metric.L2 => DistanceMetric.L2,
        Metric.InnerProduct => DistanceMetric.InnerProduct,
        Metric.Cosine => DistanceMetric.Cosine,
        Metric.Unspecified => throw RequestValidation.Invalid("metric is required: METRIC_L2, METRIC_INNER_PRODUCT or METRIC_COSINE"),
        _ => throw RequestValidation.Invalid($"metric {(int)metric} is not a known value: use METRIC_L2, METRIC_INNER_PRODUCT or METRIC_COSINE"),
    };

    public static Metric ToProto(DistanceMetric metric) => metric switch
    {
        DistanceMetric.L2 => Metric.L2,
        DistanceMetric.InnerProduct => Metric.InnerProduct,
        DistanceMetric.Cosine => Metric.Cosine,
        _ => Metric.Unspecified,
    };

    /// <summary>The engine's quantization of a request's; unset means none; INVALID_ARGUMENT when unknown.</summary>
    public static VectorQuantization ToVectorQuantization(Quantization quantization) => quantization switch
    {
        Quantization.Unspecified or Quantization.None => VectorQuantization.None,
        Quantization.Int8 => VectorQuantization.Int8,
        Quantization.Int4 => VectorQuantization.Int4,
        _ => throw RequestValidation.Invalid($"quantization {(int)quantization} is not a known value: use QUANTIZATION_NONE, QUANTIZATION_INT8 or QUANTIZATION_INT4"),
    };

    public static Quantization ToProto(VectorQuantization quantization) => quantization switch
    {
        VectorQuantization.Int8 => Quantization.Int8,
        VectorQuantization.Int4 => Quantization.Int4,
        _ => Quantization.None,
    };

    /// <summary>A collection that failed to load has only its name, state, failure and the time it failed, and one being
    /// loaded only its name, state and progress: nothing else of it is known, and a metric or quantization would look
    /// like a fact.</summary>
    public static CollectionInfo ToProto(CollectionStatus status) => status.State switch
    {
        Collections.CollectionState.Failed => new CollectionInfo
        {
            Name = status.Name,
            SnapshotUnixMs = status.SnapshotTime.ToUnixTimeMilliseconds(),
            State = Protocol.V1.CollectionState.Failed,
            Failure = status.Failure ?? "",
        },
        Collections.CollectionState.Loading => new CollectionInfo
        {
            Name = status.Name,
            State = Protocol.V1.CollectionState.Loading,
            LoadStep = status.Load?.Step.ToString().ToLowerInvariant() ?? "",
            LoadBytesDone = (ulong)(status.Load?.BytesDone ?? 0),
            LoadBytesTotal = (ulong)(status.Load?.TotalBytes ?? 0),
        },
        _ => new CollectionInfo
        {
            Name = status.Name,
            Dimension = (uint)status.Dimension,
            Metric = ToProto(status.Metric),
            M = (uint)status.M,
            EfConstruction = (uint)status.EfConstruction,
            Count = (ulong)status.Count,
            NodeCount = (ulong)status.NodeCount,
            MemoryBytes = (ulong)status.MemoryBytes,
            SnapshotLogPosition = status.SnapshotLogPosition,
            LogPosition = status.LogPosition,
            SnapshotBytes = (ulong)status.SnapshotBytes,
            SnapshotUnixMs = status.SnapshotTime.ToUnixTimeMilliseconds(),
            WritesSinceSnapshot = (ulong)status.WritesSinceSnapshot,
            Quantization = ToProto(status.Quantization),
            Shards = (uint)status.Shards,
            Replicas = (uint)status.Replicas,
            State = status.State == Collections.CollectionState.Replaying
                ? Protocol.V1.CollectionState.Replaying
                : Protocol.V1.CollectionState.Ready,
            ReplayPendingPoints = (ulong)status.ReplayPendingPoints,
            SourcePosition = status.SourcePosition ?? "",
            LinkedFields = { status.LinkedFields ?? [] },
        },
    };

    /// <summary>Null (no filtering, and no allocation) when the request has no filter or an empty one.</summary>
    public static SearchFilter? ToFilter(Filter? filter, string path = "filter") => FilterMapping.ToSearchFilter(filter, path);

    public static void AddHits(RepeatedField<Hit> target, ReadOnlySpan<SearchHit> hits, HitMessages? data = null, int firstSlot = 0)
    {
        target.Capacity = hits.Length;
        for (int i = 0; i < hits.Length; i++)
            target.Add(data is null ? new Hit { Id = hits[i].Id, Distance = hits[i].Distance } : data.Take(firstSlot + i, hits[i]));
    }

    /// <summary>A search request's k, the ef the edge settled on, its read options, how a quantized collection ends its
    /// searches, and what each hit carries (<see cref="WithHitOptions"/>, when it asks for anything): the one mapping of
    /// Search, SearchBatch and Recommend, grouped or not.</summary>
    public static SearchParameters ToSearchParameters(ISearchSettings request, int ef, ServerCallContext context)
    {
        var parameters = new SearchParameters(request.K, ef, ToReadOptions(request.MinSequences, request.AllowPartial, context))
        {
            Quantization = ToQuantizedSearch(request.Quantization),
        };
        return request.WithPayload is not null || request.WithVector || request.HasScoreThreshold
            ? WithHitOptions(parameters, request.WithPayload, request.WithVector, request.HasScoreThreshold, request.ScoreThreshold)
            : parameters;
    }

    /// <summary>What each hit carries besides id and distance, and the farthest a hit may be: the parts of
    /// <see cref="SearchParameters"/> a Search and a SearchBatch share.</summary>
    public static SearchParameters WithHitOptions(SearchParameters parameters, PayloadSelector? withPayload, bool withVector,
        bool hasScoreThreshold, float scoreThreshold) => parameters with
        {
            Payload = PayloadMapping.ToSelection(withPayload, PayloadSelection.None, "with_payload"),
            WithVector = withVector,
            ScoreThreshold = hasScoreThreshold
                ? float.IsNaN(scoreThreshold) ? throw RequestValidation.Invalid("score_threshold is NaN") : scoreThreshold
                : null,
        };

    /// <summary>How a quantized collection ends the search; unset (null): the engine's choice, and nothing allocated.
    /// INVALID_ARGUMENT naming quantization.oversampling and its limit when it is not a finite factor from 1 to
    /// <see cref="QuantizedSearchOptions.MaxOversampling"/>.</summary>
    public static QuantizedSearchOptions ToQuantizedSearch(QuantizationParams? quantization)
    {
        if (quantization is null) return QuantizedSearchOptions.Default;
        float? oversampling = null;
        if (quantization.HasOversampling)
        {
            if (!QuantizedSearchOptions.IsValidOversampling(quantization.Oversampling))
                throw RequestValidation.Invalid(
                    $"quantization.oversampling must be finite, at least 1 and at most {QuantizedSearchOptions.MaxOversampling}, got {quantization.Oversampling}");
            oversampling = quantization.Oversampling;
        }
        return new QuantizedSearchOptions(rescore: !quantization.HasRescore || quantization.Rescore, oversampling);
    }

    /// <summary>A batch's queries, each vector validated against the collection (dimension, finite components) and
    /// read in place from the message.</summary>
    public static SearchQuery[] ToQueries(RepeatedField<BatchQuery> queries, IVectorCollection collection) =>
        ToQueries(queries, collection.Name, collection.Dimension);

    /// <summary>As above, for a collection known by its name and dimension; a null dimension (the collection is not
    /// known here, and the call will fail for that) leaves the vectors unchecked.</summary>
    public static SearchQuery[] ToQueries(RepeatedField<BatchQuery> queries, string collectionName, int? dimension)
    {
        var result = new SearchQuery[queries.Count];
        for (int i = 0; i < result.Length; i++)
        {
            ReadOnlyMemory<float> vector = PackedFloats.AsMemory(queries[i].Vector);
            if (dimension is int expected)
                RequestValidation.Vector(vector.Span, collectionName, expected, "queries", i);
            result[i] = new SearchQuery(vector, ToFilter(queries[i].Filter, $"queries[{i}].filter"));
        }
        return result;
    }

    /// <summary>A read's consistency: the request's min_sequences and allow_partial, and the call's deadline (passed on
    /// to every shard of a cluster collection).</summary>
    public static ReadOptions ToReadOptions(RepeatedField<ShardSequence> minSequences, bool allowPartial, ServerCallContext context)
    {
        DateTime? deadline = context.Deadline == DateTime.MaxValue ? null : context.Deadline;
        if (minSequences.Count == 0 && !allowPartial && deadline is null)
            return ReadOptions.Default;
        ShardPosition[]? positions = null;
        if (minSequences.Count > 0)
        {
            positions = new ShardPosition[minSequences.Count];
            for (int i = 0; i < positions.Length; i++)
                positions[i] = new ShardPosition(minSequences[i].Shard > int.MaxValue ? int.MaxValue : (int)minSequences[i].Shard,
                    minSequences[i].Sequence);
        }
        return new ReadOptions(positions, allowPartial, deadline);
    }

    public static SearchBatchResponse ToProto(BatchSearchResult result, HitMessages? data = null)
    {
        var response = new SearchBatchResponse();
        response.Results.Capacity = result.Count;
        for (int q = 0; q < result.Count; q++)
        {
            var answer = new BatchResult();
            AddHits(answer.Hits, result.HitsOf(q), data, q * result.K);
            response.Results.Add(answer);
        }
        AddShards(response.MissingShards, result.MissingShards);
        return response;
    }

    public static GetResponse ToProto(PointsResult result)
    {
        var response = new GetResponse();
        foreach (StoredPoint stored in result.Points)
            response.Points.Add(ToProto(stored));
        response.MissingIds.Add(result.MissingIds);
        return response;
    }

    /// <summary>A page of a Scroll, from a collection or from one shard's replica.</summary>
    public static ScrollResponse ToProto(ScrollResult page)
    {
        var response = new ScrollResponse();
        response.Points.Capacity = page.Points.Count;
        foreach (StoredPoint point in page.Points)
            response.Points.Add(ToProto(point));
        if (page.NextAfterId is { } next) response.NextAfterId = next;
        return response;
    }

    public static Point ToProto(StoredPoint stored)
    {
        var point = new Point { Id = stored.Id };
        point.Vector.Add(stored.Vector);
        point.Labels.Add(stored.Labels);
        if (stored.Payload is { } payload) PayloadMapping.AddTo(point.Payload, payload);
        return point;
    }

    public static void AddShards(RepeatedField<uint> target, IReadOnlyList<int> shards)
    {
        foreach (int shard in shards)
            target.Add((uint)shard);
    }

    /// <summary>A cluster write's last sequence per shard, by shard (none for a local collection).</summary>
    public static void AddSequences(RepeatedField<ShardSequence> target, IReadOnlyList<ShardPosition> sequences)
    {
        foreach (ShardPosition position in sequences)
            target.Add(new ShardSequence { Shard = (uint)position.Shard, Sequence = position.Sequence });
    }
}
