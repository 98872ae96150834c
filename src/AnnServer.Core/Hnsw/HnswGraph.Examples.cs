using AnnServer.Core.Filtering;

namespace AnnServer.Core.Hnsw;

internal abstract unsafe partial class HnswGraph
{
    /// <summary>
    /// <see cref="Search"/> scored by <see cref="BestScoreQuery{TDistance}"/>: leaves up to <paramref name="ef"/> accepted
    /// nodes in <c>context.Results</c> (worst score on top), for the <paramref name="positives"/> then
    /// <paramref name="negatives"/> example vectors at <paramref name="examples"/>.
    /// </summary>
    public abstract void SearchBestScore(SearchContext context, float* examples, int positives, int negatives, int ef,
        CompiledFilter? filter, bool twoHop);

    /// <summary><see cref="ScanExact"/> scored by <see cref="BestScoreQuery{TDistance}"/>: the k best accepted live nodes of
    /// [from, to).</summary>
    public abstract void ScanExactBestScore(SearchContext context, float* examples, int positives, int negatives, int k,
        CompiledFilter? filter, int from, int to);
}
