using System.Runtime.InteropServices;

namespace AnnServer.Core.Storage;

/// <summary>
/// Maps in ahead of the searches the pages of a read-only file mapping that every search walks: the vectors of a
/// float32 index loaded with <c>--map-snapshots</c>.
/// </summary>
/// <remarks>
/// A load reads the file with pread and never touches the mapping, so without this the first searches after a load or
/// a live reload would each take up to hundreds of page faults, one per 4 KiB page. MADV_POPULATE_READ (Linux 5.14)
/// maps them all in one call, reading from the disk what the page cache does not hold. Elsewhere, or on an older
/// kernel, it does nothing and the searches fault the pages in.
/// </remarks>
internal static unsafe partial class MappedPages
{
    private const int MadvisePopulateRead = 22;
    private const long PageBytes = 4096;

    /// <summary>Maps in the pages within [<paramref name="address"/>, + <paramref name="bytes"/>) but a partial last one.</summary>
    public static void Populate(byte* address, long bytes)
    {
        long start = (long)address & ~(PageBytes - 1);
        long end = ((long)address + bytes) & ~(PageBytes - 1);
        if (!OperatingSystem.IsLinux() || end <= start) return;
        try
        {
            _ = madvise((void*)start, (nuint)(end - start), MadvisePopulateRead);
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
