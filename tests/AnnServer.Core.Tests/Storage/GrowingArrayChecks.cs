namespace AnnServer.Core.Tests.Storage;

/// <summary>What every chunked array must do while one thread grows it and others read it: the same check for
/// <c>ChunkedArray</c> and <c>NativeChunkedArray</c>, through delegates to their members.</summary>
internal static class GrowingArrayChecks
{
    public delegate ref int Element(int index);

    /// <summary>One thread grows the array one element at a time and writes i + 1 at i; this one reads every element
    /// the capacity admits and sees either 0 (not written yet) or i + 1, never anything else.</summary>
    public static async Task ReadersSeeEveryWriteWhileItGrows(int total, Action<int> ensureCapacity, Func<int> capacity, Element element)
    {
        var writer = Task.Run(() =>
        {
            for (int i = 0; i < total; i++)
            {
                ensureCapacity(i + 1);
                Volatile.Write(ref element(i), i + 1);
            }
        });
        int checkedUpTo = 0;
        while (!writer.IsCompleted || checkedUpTo < total)
        {
            int admitted = capacity();
            for (; checkedUpTo < Math.Min(admitted, total); checkedUpTo++)
            {
                int value = Volatile.Read(ref element(checkedUpTo));
                if (value == 0) break; // not written yet
                Assert.Equal(checkedUpTo + 1, value);
            }
        }
        await writer;
    }
}
