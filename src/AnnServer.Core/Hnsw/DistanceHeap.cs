using System.Runtime.CompilerServices;

namespace AnnServer.Core.Hnsw;

/// <summary>
/// A binary max-heap of (distance, node) in two flat arrays that grow once and are then reused, so the search loop
/// allocates nothing. The candidate queue is the same heap with negated distances (nearest on top), as in hnswlib.
/// </summary>
internal sealed class DistanceHeap
{
    private float[] _distances;
    private int[] _nodes;

    public DistanceHeap(int capacity = 256)
    {
        _distances = new float[capacity];
        _nodes = new int[capacity];
    }

    public int Count { get; private set; }
    public float TopDistance => _distances[0];
    public int TopNode => _nodes[0];

    public void Clear() => Count = 0;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Push(float distance, int node)
    {
        if (Count == _distances.Length) Grow();
        int i = Count++;
        float[] distances = _distances;
        int[] nodes = _nodes;
        while (i > 0)
        {
            int parent = (i - 1) >> 1;
            if (distances[parent] >= distance) break;
            distances[i] = distances[parent];
            nodes[i] = nodes[parent];
            i = parent;
        }
        distances[i] = distance;
        nodes[i] = node;
    }

    /// <summary>Removes the top; its values were read through <see cref="TopDistance"/> and <see cref="TopNode"/>.</summary>
    public void Pop()
    {
        int count = --Count;
        if (count == 0) return;
        SiftDown(_distances[count], _nodes[count], count);
    }

    /// <summary>
    /// <see cref="Push"/> then <see cref="Pop"/> in one sift, for a bounded heap that is full: the same entries remain when
    /// <paramref name="distance"/> is below the top (the caller's test), at half the cost.
    /// </summary>
    public void ReplaceTop(float distance, int node)
    {
        System.Diagnostics.Debug.Assert(Count > 0 && distance <= _distances[0]);
        SiftDown(distance, node, Count);
    }

    /// <summary>Places (distance, node) from the root down among the first <paramref name="count"/> entries.</summary>
    private void SiftDown(float distance, int node, int count)
    {
        float[] distances = _distances;
        int[] nodes = _nodes;
        int i = 0;
        while (true)
        {
            int child = 2 * i + 1;
            if (child >= count) break;
            if (child + 1 < count && distances[child + 1] > distances[child]) child++;
            if (distances[child] <= distance) break;
            distances[i] = distances[child];
            nodes[i] = nodes[child];
            i = child;
        }
        distances[i] = distance;
        nodes[i] = node;
    }

    private void Grow()
    {
        Array.Resize(ref _distances, _distances.Length * 2);
        Array.Resize(ref _nodes, _nodes.Length * 2);
    }
}
