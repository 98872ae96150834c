using System.Runtime.InteropServices;

namespace AnnServer.Core.Storage;

/// <summary>
/// Hands back to the kernel the pages of a read-only file mapping that this process has touched, without changing
/// what they read: the next read faults them in again from the page cache (or the disk).
/// </summary>
/// <remarks>
/// A load verifies a section's checksum by reading all of it, which maps every page of the section into the process.
/// For the float32 vectors of a quantized index, which only the re-rank reads, that would leave the whole section
/// counted as the process's resident memory until the kernel reclaims it; released at once, the resident set shows
/// what searches read. Linux's MADV_DONTNEED on a private file mapping does exactly this. Elsewhere it does nothing.
/// </remarks>
internal static unsafe partial class MappedPages
{
    private const int MadviseDontNeed = 4;
    private const long PageBytes = 4096;

    /// <summary>Releases the whole pages within [<paramref name="address"/>, + <paramref name="bytes"/>).</summary>
    public static void Release(byte* address, long bytes)
    {
        if (!OperatingSystem.IsLinux()) return;
        long start = ((long)address + PageBytes - 1) & ~(PageBytes - 1);
        long end = ((long)address + bytes) & ~(PageBytes - 1);
        if (end <= start) return;
        try
        {
            _ = madvise((void*)start, (nuint)(end - start), MadviseDontNeed);
        }
        catch (EntryPointNotFoundException)
        {
        }
        catch (DllNotFoundException)
        {
        }
    }

    [LibraryImport("libc")]
    private static partial int madvise(void* address, nuint length, int advice);
}
