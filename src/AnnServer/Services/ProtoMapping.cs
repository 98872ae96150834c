using AnnServer.Collections;
using AnnServer.Core;
using AnnServer.Protocol.V1;
using Google.Protobuf.Collections;

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
        _ => throw RequestValidation.Invalid($"quantization {(int)quantization} is not a known value: use QUANTIZATION_NONE or QUANTIZATION_INT8"),
    };

    public static Quantization ToProto(VectorQuantization quantization) => quantization switch
    {
        VectorQuantization.Int8 => Quantization.Int8,
        _ => Quantization.None,
    };

    public static CollectionInfo ToProto(CollectionStatus status) => new()
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
    };

    /// <summary>Null (no filtering, and no allocation) when the request has no filter or an empty one.</summary>
    public static SearchFilter? ToFilter(Filter? filter)
    {
        if (filter is null || (filter.AnyOfLabels.Count == 0 && filter.ExcludedIds.Count == 0))
            return null;
        return new SearchFilter(
            filter.AnyOfLabels.Count > 0 ? filter.AnyOfLabels : null,
            filter.ExcludedIds.Count > 0 ? filter.ExcludedIds : null);
    }

    public static void AddHits(RepeatedField<Hit> target, ReadOnlySpan<SearchHit> hits)
    {
        target.Capacity = hits.Length;
        foreach (SearchHit hit in hits)
            target.Add(new Hit { Id = hit.Id, Distance = hit.Distance });
    }
}
