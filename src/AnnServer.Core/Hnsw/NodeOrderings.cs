namespace AnnServer.Core.Hnsw;

/// <summary>Computes the node numbering a <see cref="NodeOrdering"/> names, from the level-0 links of a graph.</summary>
internal static unsafe class NodeOrderings
{
    /// <summary>
    /// The old node number of each new one (<c>order[new] = old</c>): every node once. Each connected part of the
    /// level-0 graph is walked in turn, the entry point's first, then from the lowest-numbered node not yet reached
    /// (tombstones are walked like any node: they route searches).
    /// </summary>
    public static int[] Compute(GraphStorage storage, NodeOrdering ordering)
    {
        int nodes = storage.NodeCount;
        var order = new int[nodes];
        var reached = new bool[nodes];
        int placed = 0;
        bool byDegree = ordering == NodeOrdering.ReverseCuthillMcKee;
        if (storage.TryGetEntryPoint(out int entryPoint, out _) && entryPoint < nodes)
            placed = Walk(storage, entryPoint, order, placed, reached, byDegree);
        for (int root = 0; root < nodes; root++)
            if (!reached[root]) placed = Walk(storage, root, order, placed, reached, byDegree);
        if (byDegree) Array.Reverse(order);
        return order;
    }

    /// <summary>Breadth-first from <paramref name="root"/>, placing each node as it is reached; returns the nodes placed.</summary>
    private static int Walk(GraphStorage storage, int root, int[] order, int placed, bool[] reached, bool byDegree)
    {
        int* fresh = stackalloc int[storage.MaxLinks0];
        reached[root] = true;
        order[placed++] = root;
        // The queue is the order itself: nodes are expanded in the order they were placed.
        for (int head = placed - 1; head < placed; head++)
        {
            int* links = storage.Links0(order[head]);
            int count = Math.Min(links[0], storage.MaxLinks0);
            int found = 0;
            for (int i = 1; i <= count; i++)
            {
                int neighbor = links[i];
                if ((uint)neighbor >= (uint)reached.Length || reached[neighbor]) continue;
                reached[neighbor] = true;
                fresh[found++] = neighbor;
            }
            if (byDegree) SortByDegree(storage, fresh, found);
            for (int i = 0; i < found; i++) order[placed++] = fresh[i];
        }
        return placed;
    }

    /// <summary>Insertion sort by level-0 link count, stable: a list holds at most 2·M nodes.</summary>
    private static void SortByDegree(GraphStorage storage, int* nodes, int count)
    {
        for (int i = 1; i < count; i++)
        {
            int node = nodes[i];
            int degree = storage.Links0(node)[0];
            int j = i - 1;
            while (j >= 0 && storage.Links0(nodes[j])[0] > degree)
            {
                nodes[j + 1] = nodes[j];
                j--;
            }
            nodes[j + 1] = node;
        }
    }
}
