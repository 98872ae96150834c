using System.Runtime.InteropServices;

namespace AnnServer.Core.Storage;

/// <summary>
/// The page tables of a read-only file mapping: pages this process has touched handed back to the kernel without
/// changing what they read (the next read faults them in again from the page cache or the disk), and pages a search
/// will walk mapped in ahead of it.
/// </summary>
/// <remarks>
/// A load parses its small sections in place from the mapping; released at once, the resident set shows what searches
/// read. Linux's MADV_DONTNEED on a private file mapping does exactly this. The vectors of a mapped float32 index are
/// read by every search: MADV_POPULATE_READ (Linux 5.14) maps them in one call instead of a page fault per 4 KiB page
/// under the first searches. Elsewhere, or on an older kernel, both do nothing.
/// </remarks>
internal static unsafe partial class MappedPages
{
    private const int MadviseDontNeed = 4;
    private const int MadvisePopulateRead = 22;
    private const long PageBytes = 4096;

    /// <summary>Releases the whole pages within [<paramref name="address"/>, + <paramref name="bytes"/>).</summary>
    public static void Release(byte* address, long bytes) =>
        Advise(((long)address + PageBytes - 1) & ~(PageBytes - 1), ((long)address + bytes) & ~(PageBytes - 1), MadviseDontNeed);

    /// <summary>Maps in the pages within [<paramref name="address"/>, + <paramref name="bytes"/>) but a partial last one,
    /// reading from the disk what the page cache does not hold.</summary>
    public static void Populate(byte* address, long bytes) =>
        Advise((long)address & ~(PageBytes - 1), ((long)address + bytes) & ~(PageBytes - 1), MadvisePopulateRead);

    private static void Advise(long start, long end, int advice)
    {
        if (!OperatingSystem.IsLinux() || end <= start) return;
        try
        {
            _ = madvise((void*)start, (nuint)(end - start), advice);
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
