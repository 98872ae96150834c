using AnnServer.Core.Payloads;
using AnnServer.Core.Storage;

namespace AnnServer.Core.Hnsw;

/// <summary>
/// A renumbering of an index's nodes, and the one place that applies it to every structure indexed by node number:
/// a structure added to the index by node number must be permuted here too, or a reordered index loses it (the
/// reordering tests compare every answer of the index before and after).
/// </summary>
/// <remarks>
/// What it covers: in <see cref="GraphStorage"/> the vectors, int8 codes, level-0 and upper link lists (the ids in them
/// as well as their rows), ids, states, labels and the entry point; the payload columns (their postings and range
/// indexes are rebuilt by writing the values in the new order); the value links. The id map, label postings and live
/// counts are derived from these by the index made over them, and the level-0 in-link counts at the next insert.
/// </remarks>
internal sealed unsafe class NodePermutation
{
    /// <param name="oldOf">The old number of each new node: every old node exactly once.</param>
    public NodePermutation(int[] oldOf)
    {
        OldOf = oldOf;
        NewOf = new int[oldOf.Length];
        Array.Fill(NewOf, -1);
        for (int node = 0; node < oldOf.Length; node++)
        {
            int old = oldOf[node];
            if ((uint)old >= (uint)oldOf.Length || NewOf[old] != -1)
                throw new ArgumentException($"not a permutation: old node {old} at new node {node}", nameof(oldOf));
            NewOf[old] = node;
        }
    }

    /// <summary><c>OldOf[new]</c>: the node's number before.</summary>
    public int[] OldOf { get; }

    /// <summary><c>NewOf[old]</c>: the node's number after.</summary>
    public int[] NewOf { get; }

    public int Count => OldOf.Length;

    /// <summary>A new storage holding the source's nodes in the new order; the source is left as it was.</summary>
    public GraphStorage Apply(GraphStorage source)
    {
        var target = new GraphStorage(source.Dimension, source.Metric, source.M, source.EfConstruction, source.Quantization);
        try
        {
            int nodes = Count;
            target.EnsureCapacity(nodes);
            for (int node = 0; node < nodes; node++)
            {
                int old = OldOf[node];
                CopyRow(source.Vectors, old, target.Vectors, node);
                if (source.Codes is not null) CopyRow(source.Codes, old, target.Codes!, node);
                MapList(source.Links0(old), target.Links0(node), source.MaxLinks0);
                target.UpperLinks[node] = MapUpperLists(source.UpperLinks[old], source.UpperLevelStride);
                target.Ids[node] = source.Ids[old];
                target.States[node] = source.States[old];
                if (source.Labels[old] is { } labels) target.Labels[node] = labels;
            }
            target.SetNodeCountForRestore(nodes);
            target.MarkInLinksUncounted();
            if (source.TryGetEntryPoint(out int entryPoint, out int topLevel)) target.SetEntryPoint(NewOf[entryPoint], topLevel);
            return target;
        }
        catch
        {
            target.Dispose();
            throw;
        }
    }

    /// <summary>A new store with the source's fields, in their order, and each node's values at its new number. Keyword
    /// codes stay as they were, as a snapshot keeps them.</summary>
    public PayloadStore Apply(PayloadStore source)
    {
        var target = new PayloadStore();
        foreach (PayloadColumn column in source.Columns)
        {
            PayloadColumn copy = target.AddRestoredColumn(column.Name, column.Kind);
            KeywordDictionary? dictionary = column switch
            {
                KeywordColumn keyword => keyword.Dictionary,
                KeywordListColumn list => list.Dictionary,
                _ => null,
            };
            if (dictionary is not null)
            {
                KeywordDictionary copied = copy is KeywordColumn k ? k.Dictionary : ((KeywordListColumn)copy).Dictionary;
                for (int code = 0; code < dictionary.Count; code++) copied.GetOrAdd(dictionary[code]);
            }
            for (int node = 0; node < Count; node++)
            {
                int old = OldOf[node];
                if (column.IsPresent(old)) copy.Write(node, column.Read(old));
            }
        }
        return target;
    }

    public ValueLinks? Apply(ValueLinks? source)
    {
        if (source is null) return null;
        // Nodes written after the links were built have none, but may now be numbered below nodes that have some.
        var target = new ValueLinks(source.Field, Math.Max(Count, source.NodeCapacity), source.MaxLinks);
        for (int node = 0; node < Count; node++)
            foreach (int linked in source.Links(OldOf[node]))
                if ((uint)linked < (uint)Count) target.TryAdd(node, NewOf[linked]);
        return target;
    }

    private static void CopyRow(NativeRowStore source, int sourceRow, NativeRowStore target, int targetRow) =>
        Buffer.MemoryCopy(source.Row(sourceRow), target.Row(targetRow), target.RowBytes, source.RowBytes);

    /// <summary>Copies a list (count, then up to <paramref name="maxLinks"/> ids), each id renumbered, in the same order.</summary>
    private void MapList(int* source, int* target, int maxLinks)
    {
        int count = Math.Clamp(source[0], 0, maxLinks);
        int kept = 0;
        for (int i = 1; i <= count; i++)
            if ((uint)source[i] < (uint)Count) target[1 + kept++] = NewOf[source[i]];
        target[0] = kept;
    }

    private int[]? MapUpperLists(int[]? source, int stride)
    {
        if (source is null) return null;
        var target = new int[source.Length];
        fixed (int* from = source, to = target)
            for (int start = 0; start < source.Length; start += stride)
                MapList(from + start, to + start, stride - 1);
        return target;
    }
}
