using System.Runtime.InteropServices;

namespace AnnServer.Core.Storage;

/// <summary>
/// Zeroed native memory straight from the kernel (an anonymous mapping), for per-node arrays that must start zeroed: the
/// kernel's pages are zero already and commit only when touched, where an allocation from the C heap has to be cleared,
/// which commits every page at once (an index of a few points would hold megabytes it never uses). Aligned to a huge
/// page and advised for huge pages when it spans one. Elsewhere than Linux, an aligned allocation that is cleared.
/// </summary>
internal static unsafe partial class ZeroedPages
{
    private const int ProtectReadWrite = 0x1 | 0x2;
    private const int MapPrivateAnonymous = 0x02 | 0x20;

    /// <summary><paramref name="bytes"/> of zeroed memory, aligned to a huge page when it spans one, and advised for huge
    /// pages too when <paramref name="hugePages"/> (else <see cref="HugePages.Advise"/> can be asked later).</summary>
    public static void* Allocate(long bytes, bool hugePages)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bytes);
        nuint alignment = HugePages.AlignmentFor(bytes, 64);
        if (!OperatingSystem.IsLinux())
        {
            void* cleared = NativeMemory.AlignedAlloc((nuint)bytes, alignment);
            NativeMemory.Clear(cleared, (nuint)bytes);
            return cleared;
        }
        // Mapped with room to start on an alignment boundary, and the slack on either side given back.
        nuint slack = alignment > (nuint)Environment.SystemPageSize ? alignment : 0;
        nuint length = (nuint)bytes + slack;
        nint mapped = mmap(null, length, ProtectReadWrite, MapPrivateAnonymous, -1, 0);
        if (mapped == -1) throw new OutOfMemoryException($"mmap of {length} bytes failed (errno {Marshal.GetLastPInvokeError()})");
        nuint start = slack == 0 ? (nuint)mapped : ((nuint)mapped + slack - 1) & ~(slack - 1);
        nuint head = start - (nuint)mapped, tail = length - head - (nuint)bytes;
        if (head > 0) _ = munmap((void*)mapped, head);
        if (tail > 0) _ = munmap((void*)(start + (nuint)bytes), tail);
        if (hugePages) HugePages.Advise((void*)start, bytes);
        return (void*)start;
    }

    /// <summary>Gives back memory from <see cref="Allocate"/> of the same <paramref name="bytes"/>.</summary>
    public static void Free(void* memory, long bytes)
    {
        if (memory is null) return;
        if (!OperatingSystem.IsLinux()) NativeMemory.AlignedFree(memory);
        else _ = munmap(memory, (nuint)bytes);
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint mmap(void* address, nuint length, int protection, int flags, int fd, nint offset);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int munmap(void* address, nuint length);
}
