using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace AnnServer.Harness.Results;

/// <summary>One system with one set of build parameters: annserver, usearch, hnswlib or faiss.</summary>
public sealed class ResultRow
{
    public required string System { get; init; }

    /// <summary>Free-form build and search parameters (m, ef_construction, build_threads, search_threads, ...).</summary>
    public JsonObject Params { get; init; } = [];

    /// <summary>Wall-clock seconds to build the index; null when it was loaded (or, for load, not built here).</summary>
    public double? BuildSeconds { get; init; }

    /// <summary>Bytes the index holds, as the system reports it (see bench/README.md for what each counts).</summary>
    public long? MemoryBytes { get; init; }

    /// <summary>
    /// What building or loading the index added to the process's resident memory (/proc/self/statm, garbage freed
    /// before both readings): the same measure for every system that has it, whatever its own accounting leaves out.
    /// </summary>
    public long? ResidentBytes { get; init; }

    /// <summary>
    /// The most the process's resident memory rose above its settled level before the build or load, while it ran
    /// (VmHWM after a reset through /proc/self/clear_refs): the index and every temporary of its making, not the input
    /// vectors already read. Null where the kernel gives no peak.
    /// </summary>
    public long? PeakResidentBytes { get; init; }

    /// <summary>
    /// How many runs of this system (rounds of a paired run) `ann-bench merge` combined into this row, keeping the
    /// fastest point at each ef; absent in the file of a single run.
    /// </summary>
    public int? Rounds { get; init; }

    public required List<ResultPoint> Points { get; init; }

    /// <summary>Only in rows written by `ann-bench load`.</summary>
    public LoadSummary? Load { get; init; }

    /// <summary>Fields this model does not know (a peer's own figures), kept so that merging does not drop them.</summary>
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Extra { get; set; }
}
