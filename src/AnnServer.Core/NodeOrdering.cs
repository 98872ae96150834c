namespace AnnServer.Core;

/// <summary>
/// How <see cref="HnswIndex.Reordered"/> numbers the nodes, so that a search's neighbours lie near each other in the
/// vector and link arrays ("Graph Reordering for Cache-Efficient Near Neighbor Search", Coleman et al., NeurIPS 2022).
/// </summary>
public enum NodeOrdering
{
    /// <summary>Breadth-first over the level-0 links from the entry point, neighbours in list order.</summary>
    BreadthFirst,

    /// <summary>
    /// Reverse Cuthill–McKee over the level-0 links: breadth-first, each node's unvisited neighbours taken fewest links
    /// first, the whole order then reversed. With Gorder the best of the orderings the paper measured on HNSW.
    /// </summary>
    ReverseCuthillMcKee,
}
