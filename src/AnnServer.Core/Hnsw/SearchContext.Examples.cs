using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace AnnServer.Core.Hnsw;

internal sealed unsafe partial class SearchContext
{
    // Pinned once and reused, so a recommendation's examples cost no allocation per query after the context's first.
    private float[] _examples = [];

    // The results of a best-score search's walks (one per positive example), gathered before they are merged.
    private (int Node, float Distance)[] _walkResults = new (int, float)[256];

    /// <summary>Room for <paramref name="floats"/> floats of example vectors (a best-score recommendation's), valid until the
    /// next call on this context.</summary>
    public float* Examples(int floats)
    {
        if (_examples.Length < floats) _examples = GC.AllocateUninitializedArray<float>(Math.Max(floats, _examples.Length * 2), pinned: true);
        return (float*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_examples));
    }

    /// <summary>Moves <see cref="Results"/> after the <paramref name="gathered"/> walk results kept so far; returns the new count.</summary>
    public int AppendWalkResults(int gathered)
    {
        int count = Results.Count;
        if (_walkResults.Length < gathered + count) Array.Resize(ref _walkResults, Math.Max(gathered + count, _walkResults.Length * 2));
        for (; Results.Count > 0; Results.Pop()) _walkResults[gathered++] = (Results.TopNode, Results.TopDistance);
        return gathered;
    }

    /// <summary>Leaves the best <paramref name="ef"/> distinct nodes of the gathered walk results in <see cref="Results"/>
    /// (a node two walks found has the same score in both).</summary>
    public void KeepBestOfWalks(int gathered, int ef)
    {
        var all = _walkResults.AsSpan(0, gathered);
        all.Sort(static (a, b) => a.Node.CompareTo(b.Node));
        Results.Clear();
        for (int i = 0; i < all.Length; i++)
        {
            if (i > 0 && all[i].Node == all[i - 1].Node) continue;
            if (Results.Count < ef) Results.Push(all[i].Distance, all[i].Node);
            else if (all[i].Distance < Results.TopDistance)
            {
                Results.Pop();
                Results.Push(all[i].Distance, all[i].Node);
            }
        }
    }
}
