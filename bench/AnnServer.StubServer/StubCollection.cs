using AnnServer.Protocol.V1;

namespace AnnServer.StubServer;

/// <summary>The one collection the stub pretends to serve: any name, the dimension given at start, and the ten hits
/// every search answers, built once.</summary>
public sealed class StubCollection(int dimension)
{
    public const int HitCount = 10;

    public int Dimension { get; } = dimension;

    public IReadOnlyList<Hit> Hits { get; } = Enumerable.Range(0, HitCount).Select(i => new Hit { Id = i, Distance = i * 0.5f }).ToArray();
}
