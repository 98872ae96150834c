using AnnServer.Core.Hnsw;

namespace AnnServer.Core;

public sealed partial class HnswIndex
{
    private volatile string? _sourcePosition;

    /// <summary>
    /// The upstream position the index's points were built as of (opaque to the engine: a Kafka offset map, a timestamp),
    /// so that a pipeline knows from where to replay updates into it; null when none was given. Kept in snapshots
    /// (format version 4), so a checkpoint of an index loaded from a snapshot carries it forward.
    /// </summary>
    /// <exception cref="ArgumentException">empty, or longer than <see cref="Snapshots.Snapshot.MaxSourcePositionBytes"/> in UTF-8.</exception>
    public string? SourcePosition
    {
        get => _sourcePosition;
        set
        {
            if (value is not null) Snapshots.Snapshot.ValidateSourcePosition(value, nameof(SourcePosition));
            _sourcePosition = value;
        }
    }

    /// <summary>The node table as of one instant: what a snapshot records about which node is which id and still live.</summary>
    /// <remarks><see cref="Payload"/> is the serialized Payload section (null when the index has no payload fields), made
    /// under the same lock: keyword dictionaries and values change under it. <see cref="PendingNodes"/> are the nodes
    /// still being inserted, ascending: recorded as deleted, they may be linked on an upper level and not yet below it.</remarks>
    internal sealed record FrozenNodeTable(NodeState[] States, long[] Ids, int LiveCount, int EntryPoint, int TopLevel, byte[]? Payload,
        int[] PendingNodes);

    /// <summary>
    /// Copies node states and ids under the map lock. Nodes still pending are recorded as deleted: their write has not
    /// been acknowledged to anyone, and the durable log replays it after the snapshot's position.
    /// </summary>
    internal FrozenNodeTable FreezeNodeTable()
    {
        lock (_mapLock)
        {
            // The entry point first: it was allocated before it was published, so it is below the node count read next.
            bool hasEntry = _storage.TryGetEntryPoint(out int entryPoint, out int topLevel);
            int nodes = _storage.NodeCount;
            var states = new NodeState[nodes];
            var ids = new long[nodes];
            var pending = new List<int>();
            for (int node = 0; node < nodes; node++)
            {
                NodeState state = _storage.States[node];
                states[node] = state == NodeState.Live ? NodeState.Live : NodeState.Deleted;
                if (state == NodeState.Pending) pending.Add(node);
                ids[node] = _storage.Ids[node];
            }
            byte[]? payload = _payloads.Columns.Count == 0 ? null : Snapshots.PayloadSection.Write(_payloads, states);
            return new FrozenNodeTable(states, ids, _liveCount, hasEntry ? entryPoint : -1, hasEntry ? topLevel : 0, payload, [.. pending]);
        }
    }

    /// <summary>Ids ahead whose slots a restore asks for while it sets one: far enough ahead to hide a miss to memory
    /// behind the inserts between.</summary>
    private const int IdPrefetchDistance = 16;

    /// <summary>An index over storage restored from a snapshot: rebuilds the id map, label and payload counts from the node table.</summary>
    internal HnswIndex(GraphStorage storage, int randomSeed, Payloads.PayloadStore? payloads = null)
    {
        _storage = storage;
        _payloads = payloads ?? new Payloads.PayloadStore();
        _graph = HnswGraph.Create(storage);
        _contexts = new SearchContextPool(storage.Dimension);
        _randomSeed = randomSeed;
        int nodes = storage.NodeCount;
        _nodeById.EnsureCapacity(nodes);
        for (int node = 0; node < nodes; node++)
        {
            if (node + IdPrefetchDistance < nodes) _nodeById.Prefetch(storage.Ids[node + IdPrefetchDistance]);
            if (storage.States[node] != NodeState.Live) continue;
            long id = storage.Ids[node];
            // A later node for the same id wins (the file cannot hold two, but a damaged one could).
            if (_nodeById.Set(id, node, out int previous)) Tombstone(previous);
            _liveCount++;
            _payloads.CountLive(node, +1);
            foreach (int label in storage.Labels[node] ?? [])
            {
                _liveCountByLabel[label] = _liveCountByLabel.GetValueOrDefault(label) + 1;
                ListUnderLabel(label, node);
            }
        }
    }
}
