using AnnServer.Core.Filtering;

namespace AnnServer.Core.Hnsw;

internal sealed unsafe partial class HnswGraph<TDistance>
{
    /// <remarks>
    /// One level-0 walk per positive example, each entered where the greedy descent towards that example ends, all
    /// scored by the best score and merged. A single walk (Qdrant's way) starts in one positive's basin: with examples
    /// in different clusters it often never leaves it, and the points near the other positives, which score as well,
    /// are missed (recall@10 0.74 against 0.9+ with a walk per positive, 2 positives and 2 negatives, BestScoreSearchTests).
    /// </remarks>
    public override void SearchBestScore(SearchContext context, float* examples, int positives, int negatives, int ef,
        CompiledFilter? filter, bool twoHop)
    {
        GraphStorage storage = Storage;
        context.DistanceComputations = 0;
        context.Results.Clear();
        if (!storage.TryGetEntryPoint(out int entryPoint, out int topLevel)) return;
        var score = new BestScoreQuery<TDistance>(storage, examples, positives, negatives);
        int merged = 0;
        for (int p = 0; p < positives; p++)
        {
            int entry = GreedyDescend(context, new FloatQuery<TDistance>(storage, examples + (long)p * _dimension), entryPoint, topLevel, 0);
            if (filter is null)
                SearchLevel0(context, score, entry, ef, new LiveNodes(storage), excludedNode: -1);
            else if (twoHop)
                SearchLevel0TwoHopFrom(context, score, entry, ef, filter);
            else
                SearchLevel0(context, score, entry, ef, new LiveNodesPassingFilter(storage, filter), excludedNode: -1);
            if (positives == 1) return;
            merged = context.AppendWalkResults(merged);
        }
        context.KeepBestOfWalks(merged, ef);
    }

    public override void ScanExactBestScore(SearchContext context, float* examples, int positives, int negatives, int k,
        CompiledFilter? filter, int from, int to)
    {
        GraphStorage storage = Storage;
        var score = new BestScoreQuery<TDistance>(storage, examples, positives, negatives);
        DistanceHeap results = context.Results;
        results.Clear();
        int scored = 0;
        for (int node = from; node < to; node++)
        {
            if (storage.States[node] != NodeState.Live || (filter is not null && !filter.Matches(node))) continue;
            float distance = score.Distance(node);
            scored++;
            if (results.Count < k) results.Push(distance, node);
            else if (distance < results.TopDistance)
            {
                results.Pop();
                results.Push(distance, node);
            }
        }
        context.DistanceComputations = scored * (positives + negatives);
    }
}
