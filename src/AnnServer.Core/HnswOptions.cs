namespace AnnServer.Core;

/// <summary>The parameters of an HNSW index, fixed when it is created.</summary>
public sealed class HnswOptions
{
    public const int MaxDimension = 4096;
    public const int MinM = 2;
    public const int MaxM = 128;
    public const int MaxEfConstruction = 4096;

    /// <summary>Number of float32 components of every vector (1 to 4096).</summary>
    public required int Dimension { get; init; }

    public DistanceMetric Metric { get; init; } = DistanceMetric.L2;

    /// <summary>Links per node on the upper levels; level 0 keeps 2·M.</summary>
    public int M { get; init; } = 16;

    /// <summary>Size of the candidate list while inserting: higher builds a better graph, slower.</summary>
    public int EfConstruction { get; init; } = 200;

    /// <summary>int8 quantization of the vectors the graph search walks on (the float32 vectors are kept for re-ranking).</summary>
    public VectorQuantization Quantization { get; init; } = VectorQuantization.None;

    /// <summary>
    /// Keyword fields whose values' points are linked among themselves (at most <see cref="HnswIndex.MaxLinkedFields"/>):
    /// filters on them keep their recall where the value's points lie away from the query, for (1 + 2·M)·4 bytes a node
    /// and a filtered search an insert each (<see cref="HnswIndex.LinkValues"/>).
    /// </summary>
    public IReadOnlyList<string> LinkedFields { get; init; } = [];

    /// <summary>Seed of the level generator, so that a build is reproducible for a given insertion order.</summary>
    public int RandomSeed { get; init; } = 100;

    /// <summary>Throws an <see cref="ArgumentException"/> naming the first parameter that is out of range.</summary>
    public void Validate()
    {
        if (Dimension is < 1 or > MaxDimension)
            throw new ArgumentException($"dimension must be between 1 and {MaxDimension}, got {Dimension}", nameof(Dimension));
        if (!Enum.IsDefined(Metric))
            throw new ArgumentException($"unknown metric {(int)Metric}", nameof(Metric));
        if (!Enum.IsDefined(Quantization))
            throw new ArgumentException($"unknown quantization {(int)Quantization}", nameof(Quantization));
        if (M is < MinM or > MaxM)
            throw new ArgumentException($"M must be between {MinM} and {MaxM}, got {M}", nameof(M));
        if (EfConstruction < 1 || EfConstruction > MaxEfConstruction)
            throw new ArgumentException($"efConstruction must be between 1 and {MaxEfConstruction}, got {EfConstruction}", nameof(EfConstruction));
        if (LinkedFields.Count > HnswIndex.MaxLinkedFields)
            throw new ArgumentException($"{LinkedFields.Count} linked fields, more than the limit MaxLinkedFields ({HnswIndex.MaxLinkedFields})", nameof(LinkedFields));
        for (int i = 0; i < LinkedFields.Count; i++)
        {
            string field = LinkedFields[i];
            if (string.IsNullOrEmpty(field))
                throw new ArgumentException($"linked field {i} has an empty name", nameof(LinkedFields));
            if (field.Length > Payloads.PayloadLimits.MaxFieldNameLength)
                throw new ArgumentException($"linked field '{field[..32]}…' has {field.Length} characters, more than the limit MaxFieldNameLength ({Payloads.PayloadLimits.MaxFieldNameLength})", nameof(LinkedFields));
            for (int j = 0; j < i; j++)
                if (LinkedFields[j] == field) throw new ArgumentException($"linked field '{field}' is given twice", nameof(LinkedFields));
        }
    }
}
