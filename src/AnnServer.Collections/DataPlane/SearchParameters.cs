using AnnServer.Core;

namespace AnnServer.Collections;

/// <summary>How a search is run: k hits per query (1 ≤ k ≤ ef), the graph walk's ef, and the read's consistency; what
/// each hit carries (<see cref="Payload"/>, <see cref="WithVector"/>, written to the search's <see cref="IHitDataSink"/>),
/// the farthest a hit may be (<see cref="ScoreThreshold"/>), and how a quantized collection re-ranks
/// (<see cref="Quantization"/>).</summary>
public readonly record struct SearchParameters(int K, int Ef, ReadOptions Read)
{
    private readonly PayloadSelection? _payload;

    /// <summary>The payload fields each hit carries; none by default.</summary>
    public PayloadSelection Payload { get => _payload ?? PayloadSelection.None; init => _payload = value; }

    /// <summary>Each hit carries its vector.</summary>
    public bool WithVector { get; init; }

    /// <summary>When set, hits farther than this distance are left out (a maximum distance: smaller is closer).</summary>
    public float? ScoreThreshold { get; init; }

    /// <summary>Whether and how far a quantized collection re-ranks the walk's results with the float32 vectors; the
    /// engine's choice by default. A collection without codes ignores it.</summary>
    public QuantizedSearchOptions Quantization { get; init; }

    /// <summary>Whether hits carry anything besides id and distance.</summary>
    public bool WantsHitData => WithVector || !Payload.IsNone;
}
