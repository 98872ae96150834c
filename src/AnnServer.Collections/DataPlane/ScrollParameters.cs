using AnnServer.Core;

namespace AnnServer.Collections;

/// <summary>
/// One page of a Scroll: the live points passing <paramref name="Filter"/> (null: all) with ids greater than
/// <paramref name="AfterId"/> (null: from the smallest), at most <paramref name="Limit"/> of them (1 to
/// <see cref="HnswIndex.MaxScrollLimit"/>, checked at the edge), each carrying <see cref="Payload"/> (all by default) and,
/// with <see cref="WithVector"/>, its vector; the answer is measured as it grows against <paramref name="MaxAnswerBytes"/>.
/// </summary>
public readonly record struct ScrollParameters(SearchFilter? Filter, long? AfterId, int Limit, long MaxAnswerBytes, ReadOptions Read)
{
    private readonly PayloadSelection? _payload;

    public PayloadSelection Payload { get => _payload ?? PayloadSelection.All; init => _payload = value; }

    public bool WithVector { get; init; }
}
