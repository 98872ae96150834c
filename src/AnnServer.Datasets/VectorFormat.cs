namespace AnnServer.Datasets;

/// <summary>The vector file formats the readers understand.</summary>
public enum VectorFormat
{
    /// <summary>TEXMEX float32 rows, each prefixed by its int32 dimension (.fvecs).</summary>
    Fvecs,

    /// <summary>TEXMEX uint8 rows, each prefixed by its int32 dimension (.bvecs); components become 0..255.</summary>
    Bvecs,

    /// <summary>IDX (the MNIST format), raw or gzip: the first axis is the row, the others are flattened.</summary>
    Idx,

    /// <summary>NumPy .npy: a 2-D little-endian float32 (or float16, widened) array in C order.</summary>
    Npy,

    /// <summary>An ann-benchmarks HDF5 file: datasets <c>train</c>, <c>test</c>, <c>neighbors</c>, <c>distances</c>.</summary>
    Hdf5,

    /// <summary>Apache Parquet: a file, or a folder of part files as Spark writes them; one list column holds the vectors.</summary>
    Parquet,
}
