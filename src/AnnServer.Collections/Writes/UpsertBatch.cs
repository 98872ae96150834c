using AnnServer.Core.Payloads;

namespace AnnServer.Collections;

/// <summary>
/// A validated batch of points to insert or replace, laid out flat: point i has id <c>Ids[i]</c>, vector
/// <c>Vectors[i·Dimension .. (i+1)·Dimension)</c>, labels <c>Labels[i]</c> (null for none) and payload
/// <c>Payloads?[i]</c> (null for none; an upsert replaces a point's whole payload, as it replaces its vector).
/// Built by the gRPC layer once every point has passed validation, so applying it cannot fail half way.
/// The flat layout is also what the write-ahead log records (<see cref="RequestRecords"/>).
/// </summary>
public sealed class UpsertBatch
{
    public UpsertBatch(int dimension, long[] ids, float[] vectors, int[]?[] labels, Payload?[]? payloads = null)
    {
        if (ids.Length == 0) throw new ArgumentException("an upsert batch needs at least one point", nameof(ids));
        if (vectors.Length != ids.Length * dimension)
            throw new ArgumentException($"vectors has {vectors.Length} floats, expected {ids.Length} × {dimension}", nameof(vectors));
        if (labels.Length != ids.Length)
            throw new ArgumentException($"labels has {labels.Length} entries, expected {ids.Length}", nameof(labels));
        if (payloads is not null && payloads.Length != ids.Length)
            throw new ArgumentException($"payloads has {payloads.Length} entries, expected {ids.Length}", nameof(payloads));
        Dimension = dimension;
        Payloads = payloads is not null && Array.Exists(payloads, p => p is { Count: > 0 }) ? payloads : null;
        Ids = ids;
        Vectors = vectors;
        Labels = labels;
    }

    public int Dimension { get; }
    public int Count => Ids.Length;
    public long[] Ids { get; }
    public float[] Vectors { get; }
    public int[]?[] Labels { get; }

    /// <summary>One payload per point (null or empty: none), or null when no point of the batch has one.</summary>
    public Payload?[]? Payloads { get; }

    public ReadOnlySpan<float> Vector(int i) => Vectors.AsSpan(i * Dimension, Dimension);
}
