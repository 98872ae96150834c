namespace AnnServer.Core;

/// <summary>How the graph search stores and compares vectors. Persisted in snapshot headers (never renumber) and by
/// name in the cluster state's collection specs (JSON, camelCase: never rename).</summary>
public enum VectorQuantization : byte
{
    /// <summary>float32 only.</summary>
    None = 0,

    /// <summary>
    /// int8 codes with one scale per vector beside the float32 vectors: the graph is walked on the codes (a quarter of the
    /// bytes per distance) and the candidates are re-ranked with the float32 vectors.
    /// </summary>
    Int8 = 1,

    /// <summary>
    /// 4-bit codes with one range per vector beside the float32 vectors (Hnsw/Int4Codes.cs): the graph is walked on the
    /// codes (about 0.15× the float32 bytes per point) and the candidates are re-ranked with the float32 vectors, which
    /// can stay in the snapshot's file mapping.
    /// </summary>
    Int4 = 2,
}
