namespace AnnServer.Core;

/// <summary>How the graph search stores and compares vectors. Persisted in snapshot headers: never renumber.</summary>
public enum VectorQuantization : byte
{
    /// <summary>float32 only.</summary>
    None = 0,

    /// <summary>
    /// int8 codes with one scale per vector beside the float32 vectors: the graph is walked on the codes (a quarter of the
    /// bytes per distance) and the candidates are re-ranked with the float32 vectors.
    /// </summary>
    Int8 = 1,
}
