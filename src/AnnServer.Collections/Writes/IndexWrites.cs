using AnnServer.Core;
using AnnServer.Core.Payloads;

namespace AnnServer.Collections;

/// <summary>
/// Upserts and deletes applied to an index: by the write path (<see cref="WritePipeline"/>), and as log records by
/// replay and compaction (<see cref="LogRecordApplier"/>). Stateless; the callers decide when and on which index.
/// </summary>
internal static class IndexWrites
{
    /// <summary>Batches at least this large, with distinct ids, are inserted over all cores by UpsertMany.</summary>
    public const int ParallelUpsertThreshold = 256;

    /// <summary>Most points applied in one UpsertMany call, by the write path and by replay.</summary>
    public const int MaxRunPoints = 8192;

    /// <summary>Inserts or replaces points in order; returns how many replaced an existing id. The vectors were validated
    /// where they entered (the server's request edge, or <see cref="CollectionVector.CheckFinite"/> for log and stream records), so the
    /// index's unchecked entries write them. <paramref name="payloads"/> is null or one entry per id (null: none).</summary>
    public static int Upsert(HnswIndex index, ReadOnlyMemory<float> vectors, long[] ids, IReadOnlyList<int[]?>? labels,
        IReadOnlyList<Payload?>? payloads = null)
    {
        int dimension = index.Dimension, replaced = 0;
        if (ids.Length >= ParallelUpsertThreshold && AllDistinct(ids))
        {
            // Distinct ids: the order of insertion does not change the outcome, so all cores can insert.
            foreach (long id in ids)
                if (index.Contains(id)) replaced++;
            index.UpsertManyUnchecked(vectors, ids, AnyLabels(labels) ? labels : null, payloads);
            return replaced;
        }
        ReadOnlySpan<float> all = vectors.Span;
        for (int i = 0; i < ids.Length; i++)
        {
            ReadOnlySpan<float> vector = all.Slice(i * dimension, dimension);
            ReadOnlySpan<int> pointLabels = labels is null ? default : labels[i];
            // The checked entry for a point with a payload: the index has no unchecked one, and the payload's kinds must be
            // checked against the index's columns anyway.
            if (payloads?[i] is { } payload ? index.Upsert(ids[i], vector, payload, pointLabels) : index.UpsertUnchecked(ids[i], vector, pointLabels))
                replaced++;
        }
        return replaced;
    }

    /// <summary>Deletes the ids that exist; returns how many did.</summary>
    public static int Delete(HnswIndex index, long[] ids)
    {
        int deleted = 0;
        foreach (long id in ids)
            if (index.Delete(id)) deleted++;
        return deleted;
    }

    public static bool AnyLabels(IReadOnlyList<int[]?>? labels)
    {
        if (labels is null) return false;
        for (int i = 0; i < labels.Count; i++)
            if (labels[i] is { Length: > 0 }) return true;
        return false;
    }

    private static bool AllDistinct(long[] ids)
    {
        var seen = new HashSet<long>(ids.Length);
        foreach (long id in ids)
            if (!seen.Add(id)) return false;
        return true;
    }
}
