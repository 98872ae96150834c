using AnnServer.Core.Hnsw;

namespace AnnServer.Core;

public sealed partial class HnswIndex
{
    /// <summary>
    /// A copy of the index with its nodes renumbered by <paramref name="ordering"/>, so that neighbours lie near each
    /// other in memory and a search misses the cache less: it answers every search, get and filter exactly as this one
    /// does, and a snapshot of it is written in the same format. This index is left as it was.
    /// </summary>
    /// <remarks>
    /// An offline step, after a build or on a loaded snapshot: it must not run while points are written (the copy is
    /// made node by node), and it needs the memory of a second index while both exist.
    /// </remarks>
    /// <exception cref="InvalidOperationException">a write is in flight (a node is still pending).</exception>
    public HnswIndex Reordered(NodeOrdering ordering)
    {
        lock (_mapLock)
        {
            int nodes = _storage.NodeCount;
            for (int node = 0; node < nodes; node++)
                if (_storage.States[node] == NodeState.Pending)
                    throw new InvalidOperationException($"node {node} is still being written: reorder an index no one writes to");
            var permutation = new NodePermutation(NodeOrderings.Compute(_storage, ordering));
            GraphStorage storage = permutation.Apply(_storage);
            try
            {
                var index = new HnswIndex(storage, _randomSeed, permutation.Apply(_payloads)) { SourcePosition = SourcePosition };
                foreach (ValueLinks links in _graph.ValueLinks)
                    if (links.IsComplete) index.AdoptValueLinks(permutation.Apply(links));
                index._graph.FollowsValueLinks = _graph.FollowsValueLinks;
                index.ForcedStrategy = ForcedStrategy;
                return index;
            }
            catch
            {
                storage.Dispose();
                throw;
            }
        }
    }
}
