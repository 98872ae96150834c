using AnnServer.Core.Distance;
using AnnServer.Core.Hnsw;
using AnnServer.Core.Payloads;

namespace AnnServer.Core;

// An upsert in two steps, for a writer that must not show a point before its log record is durable, and would rather
// not wait for the disk before it does the expensive part (the graph insert):
//
//   LinkManyUnchecked   allocate and link every point over all cores       nodes Pending ─► Linked (route, never returned)
//   (the caller waits for its log commit meanwhile or after)
//   CommitLinked        make each point the live one for its id, in order   Linked ─► Live (the node it replaces ─► Deleted)
//   or AbandonLinked    the commit failed                                   Linked ─► Deleted
//
// Linked nodes are invisible to every read (searches accept Live only; Get, Contains and counts go through the id map,
// written at commit), so what a read sees is exactly what was committed. A snapshot writes them as Deleted.

public sealed unsafe partial class HnswIndex
{
    /// <summary>
    /// Links the points (row-major <paramref name="vectors"/>, one row per id) into the graph over all cores, without
    /// making any of them visible: see <see cref="CommitLinked"/>. The caller validated the rows where they entered the
    /// process (as for <see cref="UpsertManyUnchecked"/>). Ids may repeat: the commit, in order, decides which point
    /// is an id's. Payloads are checked against the index's columns here, before any point is linked. Every core links
    /// as soon as there are two points: an insert costs 100 µs or more at efConstruction 200, the fork a few.
    /// </summary>
    internal LinkedPoints LinkManyUnchecked(ReadOnlyMemory<float> vectors, long[] ids, IReadOnlyList<int[]?>? labels,
        IReadOnlyList<Payload?>? payloads)
    {
        int count = ids.Length;
        AssertValidRows(vectors.Span, count, labels);
        if (payloads is not null) PreparePayloads(payloads, nameof(payloads));

        _storage.EnsureCapacity(NodeCount + count);
        var nodes = new int[count];
        int next = -1;
        Parallel.For(0, Math.Min(Environment.ProcessorCount, count), _ =>
        {
            var context = _contexts.Rent();
            try
            {
                int row;
                while ((row = Interlocked.Increment(ref next)) < count)
                    nodes[row] = Link(ids[row], vectors.Span.Slice(row * Dimension, Dimension), labels?[row], context);
            }
            finally
            {
                _contexts.Return(context);
            }
        });
        return new LinkedPoints(ids, nodes, payloads);
    }

    /// <summary>Makes points linked by <see cref="LinkManyUnchecked"/> live, <paramref name="from"/> up to
    /// <paramref name="to"/> (exclusive) in order, each replacing the live point of its id; returns how many replaced one.</summary>
    internal int CommitLinked(LinkedPoints points, int from, int to)
    {
        int replaced = 0;
        for (int i = from; i < to; i++)
            if (Commit(points.Ids[i], points.Nodes[i], points.Payloads?[i]))
                replaced++;
        if (points.Payloads is not null && _graph.ValueLinks.Length > 0) LinkCommittedValues(points, from, to);
        return replaced;
    }

    /// <summary>
    /// The value links of committed points (<see cref="LinkInsertedNode"/>), over all cores as their graph links were:
    /// after the whole range is live, so that points of one batch find each other.
    /// </summary>
    private void LinkCommittedValues(LinkedPoints points, int from, int to)
    {
        int next = from - 1;
        Parallel.For(0, Math.Min(Environment.ProcessorCount, to - from), _ =>
        {
            var context = _contexts.Rent();
            try
            {
                int row;
                while ((row = Interlocked.Increment(ref next)) < to)
                    if (points.Payloads![row] is not null && _storage.States[points.Nodes[row]] == NodeState.Live)
                        LinkInsertedNode(points.Nodes[row], context);
            }
            finally
            {
                _contexts.Return(context);
            }
        });
    }

    /// <summary>Turns points linked by <see cref="LinkManyUnchecked"/> into tombstones that were never visible (their log
    /// commit failed): they keep routing searches, as any deleted node does, until a compaction drops them.</summary>
    internal void AbandonLinked(LinkedPoints points)
    {
        lock (_mapLock)
            foreach (int node in points.Nodes)
                _storage.States[node] = NodeState.Deleted;
    }

    /// <summary>The first half of <see cref="Insert"/>: the node is in the graph, <see cref="NodeState.Linked"/>.</summary>
    private int Link(long id, ReadOnlySpan<float> vector, int[]? labels, SearchContext context)
    {
        int node = _storage.AllocateNode(_randomSeed);
        var stored = new Span<float>(_storage.Vector(node), Dimension);
        vector.CopyTo(stored);
        if (Metric == DistanceMetric.Cosine) VectorMath.Normalize(stored);
        _storage.EncodeCodes(node);
        _storage.Ids[node] = id;
        _storage.Labels[node] = labels;
        _graph.Insert(node, context);
        _storage.States[node] = NodeState.Linked;
        return node;
    }
}

/// <summary>Points linked into an index but not yet visible (<see cref="HnswIndex.LinkManyUnchecked"/>): node i holds
/// id i, with payload i (<see cref="Payloads"/> null: none).</summary>
internal sealed record LinkedPoints(long[] Ids, int[] Nodes, IReadOnlyList<Payload?>? Payloads);
