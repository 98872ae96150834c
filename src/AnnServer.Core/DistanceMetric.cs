namespace AnnServer.Core;

/// <summary>How two vectors are compared. Smaller distances are always closer.</summary>
/// <remarks>The numeric values are persisted in snapshot headers and log records: never renumber them.</remarks>
public enum DistanceMetric : byte
{
    /// <summary>Squared Euclidean distance.</summary>
    L2 = 0,

    /// <summary>1 − a·b: the inner product turned into a distance, as hnswlib and FAISS do.</summary>
    InnerProduct = 1,

    /// <summary>1 − cos(a, b): vectors are normalised once at insert (and queries at search), then compared by inner product.</summary>
    Cosine = 2,
}
