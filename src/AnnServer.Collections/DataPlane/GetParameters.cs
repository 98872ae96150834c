namespace AnnServer.Collections;

/// <summary>How a Get is read: the most bytes its answer may weigh (see <see cref="GetAnswerSize"/>), the read's
/// consistency, and what each point carries (all its payload and its vector by default, as before payloads existed).</summary>
public readonly record struct GetParameters(long MaxAnswerBytes, ReadOptions Read)
{
    private readonly PayloadSelection? _payload;
    private readonly bool _withoutVector;

    /// <summary>The payload fields each point carries; all by default.</summary>
    public PayloadSelection Payload { get => _payload ?? PayloadSelection.All; init => _payload = value; }

    /// <summary>Each point carries its vector; true by default.</summary>
    public bool WithVector { get => !_withoutVector; init => _withoutVector = !value; }
}
