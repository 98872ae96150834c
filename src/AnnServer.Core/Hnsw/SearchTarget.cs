namespace AnnServer.Core.Hnsw;

/// <summary>
/// What a search scores nodes against, prepared in a <see cref="SearchContext"/>'s memory: one query vector, or the
/// example vectors of a best-score recommendation (<see cref="BestScoreQuery{TDistance}"/>), positives first.
/// </summary>
internal readonly unsafe struct SearchTarget
{
    private SearchTarget(float* vectors, int positives, int negatives, bool byExamples)
    {
        Vectors = vectors;
        Positives = positives;
        Negatives = negatives;
        ByExamples = byExamples;
    }

    public float* Vectors { get; }
    public int Positives { get; }
    public int Negatives { get; }
    public bool ByExamples { get; }

    public static SearchTarget Query(float* query) => new(query, 1, 0, byExamples: false);

    public static SearchTarget Examples(float* examples, int positives, int negatives) => new(examples, positives, negatives, byExamples: true);
}
