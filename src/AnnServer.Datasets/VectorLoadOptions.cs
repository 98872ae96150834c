namespace AnnServer.Datasets;

/// <summary>How <see cref="VectorLoader"/> reads a file.</summary>
public sealed class VectorLoadOptions
{
    /// <summary>The file's format; null to tell it from the name or content (<see cref="VectorFormats.Detect"/>).</summary>
    public VectorFormat? Format { get; init; }

    /// <summary>For HDF5 files, the dataset to read; null means <c>train</c>.</summary>
    public string? Hdf5Dataset { get; init; }

    /// <summary>For Parquet input, the vector column and the optional id column.</summary>
    public ParquetColumns? Parquet { get; init; }

    /// <summary>Skip and count rows of the wrong dimension, with NaN/infinite components or (Parquet) null vectors or duplicate ids, instead of failing on the first.</summary>
    public bool SkipInvalid { get; init; }

    /// <summary>Stop after this many rows of the file (valid or not).</summary>
    public long MaxRows { get; init; } = long.MaxValue;
}
