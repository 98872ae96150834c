using System.Runtime.InteropServices;
using Cloud.Unum.USearch;

namespace AnnServer.Harness.Systems;

/// <summary>
/// The parts of USearch's C API (c/usearch.h) that the managed Cloud.Unum.USearch wrapper does not expose: changing
/// expansion_search and the thread limits after creation, and a search into caller-owned buffers. The wrapper's own
/// Search allocates two arrays and pins the query on every call, which would be timed as USearch's cost.
/// The native library is the one the NuGet package ships.
/// </summary>
internal static partial class USearchNative
{
    private const string Library = "libusearch_c";

    /// <summary>usearch_init_options_t, field for field.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct InitOptions
    {
        public MetricKind MetricKind;
        public nint Metric;
        public ScalarKind Quantization;
        public nuint Dimensions;
        public nuint Connectivity;
        public nuint ExpansionAdd;
        public nuint ExpansionSearch;
        public byte Multi;
    }

    [LibraryImport(Library, EntryPoint = "usearch_init")]
    public static unsafe partial nint Init(InitOptions* options, out nint error);

    [LibraryImport(Library, EntryPoint = "usearch_free")]
    public static partial void Free(nint index, out nint error);

    [LibraryImport(Library, EntryPoint = "usearch_reserve")]
    public static partial void Reserve(nint index, nuint capacity, out nint error);

    [LibraryImport(Library, EntryPoint = "usearch_change_threads_add")]
    public static partial void ChangeThreadsAdd(nint index, nuint threads, out nint error);

    [LibraryImport(Library, EntryPoint = "usearch_change_threads_search")]
    public static partial void ChangeThreadsSearch(nint index, nuint threads, out nint error);

    [LibraryImport(Library, EntryPoint = "usearch_change_expansion_search")]
    public static partial void ChangeExpansionSearch(nint index, nuint expansion, out nint error);

    [LibraryImport(Library, EntryPoint = "usearch_add")]
    public static unsafe partial void Add(nint index, ulong key, float* vector, ScalarKind kind, out nint error);

    [LibraryImport(Library, EntryPoint = "usearch_search")]
    public static unsafe partial nuint Search(nint index, float* query, ScalarKind kind, nuint count, ulong* keys,
        float* distances, out nint error);

    [LibraryImport(Library, EntryPoint = "usearch_size")]
    public static partial nuint Size(nint index, out nint error);

    [LibraryImport(Library, EntryPoint = "usearch_memory_usage")]
    public static partial nuint MemoryUsage(nint index, out nint error);

    [LibraryImport(Library, EntryPoint = "usearch_hardware_acceleration")]
    public static partial nint HardwareAcceleration(nint index, out nint error);

    [LibraryImport(Library, EntryPoint = "usearch_version")]
    public static partial nint Version();

    /// <summary>Throws with USearch's own message when a call reported an error.</summary>
    public static void Check(nint error, string operation)
    {
        if (error != 0)
            throw new InvalidOperationException($"USearch {operation} failed: {Marshal.PtrToStringUTF8(error)}");
    }
}
