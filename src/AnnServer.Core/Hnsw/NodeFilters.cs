namespace AnnServer.Core.Hnsw;

/// <summary>
/// Which nodes a layer search may return (all nodes still route it). A struct type argument, so the JIT compiles one
/// search loop per kind of filter, with no branch on configuration and no interface call inside the loop.
/// </summary>
internal interface INodeFilter
{
    bool Accepts(int node);
}

/// <summary>Construction: link to anything not deleted, including nodes still being inserted.</summary>
internal readonly struct NotDeletedNodes(GraphStorage storage) : INodeFilter
{
    public bool Accepts(int node) => storage.States[node] != NodeState.Deleted;
}

/// <summary>Queries without a filter: committed, undeleted nodes.</summary>
internal readonly struct LiveNodes(GraphStorage storage) : INodeFilter
{
    public bool Accepts(int node) => storage.States[node] == NodeState.Live;
}

/// <summary>Queries with a filter: live nodes whose id and labels pass it.</summary>
internal readonly struct LiveNodesPassingFilter(GraphStorage storage, SearchFilter filter) : INodeFilter
{
    public bool Accepts(int node) =>
        storage.States[node] == NodeState.Live && filter.Allows(storage.Ids[node], storage.Labels[node]);
}
