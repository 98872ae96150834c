using System.Text.Json.Nodes;

namespace AnnServer.Harness.Systems;

/// <summary>An index under test, built or loaded, that the recall runner times. One per row of the results.</summary>
public interface ISearchSystem : IDisposable
{
    /// <summary>The row's system name: annserver, usearch.</summary>
    string Name { get; }

    /// <summary>Build or load parameters for the JSON row.</summary>
    JsonObject Params { get; }

    /// <summary>Seconds the build took; null when the index was loaded.</summary>
    double? BuildSeconds { get; }

    long? MemoryBytes { get; }

    /// <summary>Sets the search breadth for the searches that follow. Not called while searches run.</summary>
    void SetEf(int ef);

    /// <summary>One searcher per thread: it owns the buffers its searches use, so the timed loop allocates nothing.</summary>
    ISearcher CreateSearcher(int k);

    /// <summary>Distance computations so far, summed over threads; null when the system does not count them.</summary>
    long? DistanceComputations { get; }
}

public interface ISearcher
{
    /// <summary>Writes the ids of up to k nearest points, best first, and returns how many.</summary>
    int Search(ReadOnlySpan<float> query, Span<long> ids);
}
