using AnnServer.Core.Storage;

namespace AnnServer.Core.Snapshots;

/// <summary>
/// A section read whole into native memory for one parse, and given back after it: the upper levels and the labels,
/// megabytes at a million nodes. As managed arrays they came from the large-object heap, whose growth set off two full
/// collections a load, on 4 KiB pages that a fresh process pays 10-15 µs each to touch on the VM we measure on; here
/// they are on huge pages and leave the heap alone.
/// </summary>
internal sealed unsafe class NativeSectionBytes : IDisposable
{
    private byte* _bytes;

    public NativeSectionBytes(long length)
    {
        Length = (int)length;
        _bytes = length == 0 ? null : (byte*)ZeroedPages.Allocate(length, hugePages: true);
    }

    public int Length { get; }

    public Span<byte> Span => new(_bytes, Length);

    public void Dispose()
    {
        ZeroedPages.Free(_bytes, Length);
        _bytes = null;
    }
}
