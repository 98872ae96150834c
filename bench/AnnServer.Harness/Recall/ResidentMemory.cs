using System.Runtime;
using System.Runtime.InteropServices;

namespace AnnServer.Harness.Recall;

/// <summary>
/// The process's resident memory, for the growth an index causes: read before the index is made and after it is
/// built or loaded, the difference is what the index keeps in memory, whatever its own accounting
/// (<c>HnswIndex.MemoryBytes</c>) includes or leaves out. bench/peers/hnswlib_native.cpp measures hnswlib the same way.
/// </summary>
internal static partial class ResidentMemory
{
    /// <summary>
    /// Resident bytes once garbage is gone: a full blocking, compacting collection, finalizers, another collection,
    /// then glibc's malloc_trim, so that neither the buffers of the files read before nor the build's temporaries count.
    /// The collections are <see cref="GCCollectionMode.Aggressive"/>, which also decommits the regions they empty; a
    /// forced one keeps them for reuse. Measured on 10,000 Fashion-MNIST points (`ann-bench recall --quantization int8
    /// none`, and `--index` of both): 0–1.3 MiB less growth than forced collections, and malloc_trim 0–4 MiB less again.
    /// Null where /proc/self/statm does not exist.
    /// </summary>
    public static long? SettledBytes()
    {
        if (!OperatingSystem.IsLinux()) return null;
        GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        TrimNativeHeap();
        return CurrentBytes();
    }

    /// <summary>Resident pages (statm's second field: anonymous, file-backed and transparent huge pages) × page size.</summary>
    public static long? CurrentBytes()
    {
        try
        {
            string[] fields = File.ReadAllText("/proc/self/statm").Split(' ', StringSplitOptions.RemoveEmptyEntries);
            return fields.Length > 1 && long.TryParse(fields[1], out long pages) ? pages * Environment.SystemPageSize : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>
    /// Starts a new peak: the kernel's high-water mark of resident memory (VmHWM) is set to what is resident now, by
    /// writing 5 to /proc/self/clear_refs (Linux 4.0 and later). False where that cannot be done.
    /// </summary>
    public static bool ResetPeak()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>The most that has been resident since the last <see cref="ResetPeak"/> (VmHWM of /proc/self/status).</summary>
    public static long? PeakBytes()
    {
        try
        {
            foreach (string line in File.ReadLines("/proc/self/status"))
            {
                if (!line.StartsWith("VmHWM:", StringComparison.Ordinal)) continue;
                string[] fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                return fields.Length > 1 && long.TryParse(fields[1], out long kibibytes) ? kibibytes * 1024 : null;
            }
            return null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>Hands the native allocator's free memory back to the kernel; a no-op where glibc is not the allocator.</summary>
    private static void TrimNativeHeap()
    {
        try
        {
            _ = malloc_trim(0);
        }
        catch (DllNotFoundException)
        {
        }
        catch (EntryPointNotFoundException)
        {
        }
    }

    [LibraryImport("libc", EntryPoint = "malloc_trim")]
    private static partial int malloc_trim(nuint pad);
}
