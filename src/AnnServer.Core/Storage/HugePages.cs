using System.Runtime.InteropServices;

namespace AnnServer.Core.Storage;

/// <summary>
/// Asks Linux to back large native allocations (vector and link chunks) with 2 MiB transparent huge pages.
/// </summary>
/// <remarks>
/// A search reads a few hundred vectors at random addresses. With 4 KiB pages every one of them is a TLB miss on an
/// index larger than a few megabytes (Fashion-MNIST's 188 MB is 47,000 pages against a TLB of a few thousand entries),
/// and each miss is a page-table walk before the vector's first cache line can even be asked for. 2 MiB pages make the
/// whole index a few hundred TLB entries. Most distributions set transparent huge pages to "madvise", so nothing gets
/// them unless it asks: we ask, for allocations of whole huge pages. Where the kernel says no (or it is not Linux), the
/// memory is ordinary memory and only speed differs. ANNSERVER_HUGE_PAGES=0 turns it off (to measure the difference).
/// A store asks only once it outgrows its first chunk (<see cref="NativeRowStore"/>): a huge page is committed whole.
/// </remarks>
internal static unsafe partial class HugePages
{
    public const nuint PageBytes = 2 << 20;
    private const int MadviseHugePage = 14;

    /// <summary>Read when a chunk is allocated; a static field rather than a constant so a benchmark can compare both.</summary>
    public static bool Enabled = OperatingSystem.IsLinux() && Environment.GetEnvironmentVariable("ANNSERVER_HUGE_PAGES") != "0";

    /// <summary>The alignment for an allocation of <paramref name="bytes"/>: a huge page when it spans at least one.</summary>
    public static nuint AlignmentFor(long bytes, nuint minimum) => Enabled && bytes >= (long)PageBytes ? PageBytes : minimum;

    /// <summary>Advises huge pages for memory allocated with <see cref="AlignmentFor"/>; a refusal is ignored.</summary>
    public static void Advise(void* address, long bytes)
    {
        if (!Enabled || bytes < (long)PageBytes || ((nuint)address & (PageBytes - 1)) != 0) return;
        try
        {
            _ = madvise(address, (nuint)bytes, MadviseHugePage);
        }
        catch (EntryPointNotFoundException)
        {
            Enabled = false;
        }
        catch (DllNotFoundException)
        {
            Enabled = false;
        }
    }

    [LibraryImport("libc")]
    private static partial int madvise(void* address, nuint length, int advice);
}
