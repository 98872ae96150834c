using AnnServer.Core.Hnsw;
using Xunit;

namespace AnnServer.Core.Tests.Hnsw;

public sealed class DistanceHeapTests
{
    /// <summary>A bounded heap kept with ReplaceTop holds the same distances as one kept with Push then Pop (which of
    /// several entries tied at the top leaves may differ, as it may between two heaps filled in different orders).</summary>
    [Fact]
    public void ReplaceTopKeepsTheSameEntriesAsPushThenPop()
    {
        const int bound = 10;
        var random = new Random(5);
        var pushPop = new DistanceHeap(4);
        var replace = new DistanceHeap(4);
        for (int node = 0; node < 2_000; node++)
        {
            float distance = random.Next(500); // repeats: ties on the way
            if (pushPop.Count == bound && distance >= pushPop.TopDistance) continue;
            pushPop.Push(distance, node);
            if (pushPop.Count > bound) pushPop.Pop();
            if (replace.Count < bound) replace.Push(distance, node);
            else replace.ReplaceTop(distance, node);
            Assert.Equal(pushPop.TopDistance, replace.TopDistance);
        }
        Assert.Equal(Drain(pushPop).Select(entry => entry.Distance), Drain(replace).Select(entry => entry.Distance));
    }

    [Fact]
    public void PopsInDescendingDistanceOrder()
    {
        var heap = new DistanceHeap(2);
        float[] distances = [5, 1, 9, 3, 3, 7, 0, 8];
        for (int i = 0; i < distances.Length; i++) heap.Push(distances[i], i);
        Assert.Equal(distances.OrderDescending(), Drain(heap).Select(entry => entry.Distance));
    }

    private static List<(float Distance, int Node)> Drain(DistanceHeap heap)
    {
        var drained = new List<(float, int)>();
        while (heap.Count > 0)
        {
            drained.Add((heap.TopDistance, heap.TopNode));
            heap.Pop();
        }
        return drained;
    }
}
