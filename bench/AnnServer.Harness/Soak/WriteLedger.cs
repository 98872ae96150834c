namespace AnnServer.Harness.Soak;

/// <summary>
/// The last acknowledged state of every id a soak client wrote: a version (whose vector the client can recompute) or
/// deleted. A write that ended without a clear answer (deadline, connection lost, INTERNAL) may or may not have been
/// applied, so the id then accepts either its previous or its new state until the next acknowledged write. One ledger
/// per client, touched by that client only.
/// </summary>
public sealed class WriteLedger
{
    /// <summary>Deleted, or never written.</summary>
    public const int Absent = -1;

    private readonly Dictionary<long, int> _acknowledged = new();
    private readonly Dictionary<long, int> _alternative = new();

    public int Count => _acknowledged.Count;
    public IEnumerable<long> Ids => _acknowledged.Keys;

    public int Current(long id) => _acknowledged.GetValueOrDefault(id, Absent);

    public void Acknowledged(long id, int version)
    {
        _acknowledged[id] = version;
        _alternative.Remove(id);
    }

    public void Uncertain(long id, int version)
    {
        // The previous acknowledged state stays the expected one; the new one is accepted too.
        if (!_acknowledged.ContainsKey(id)) _acknowledged[id] = Absent;
        _alternative[id] = version;
    }

    /// <summary>The state of a write whose answer was lost after the last acknowledged one, if any.</summary>
    public int? Alternative(long id) => _alternative.TryGetValue(id, out int other) ? other : null;

    /// <summary>True when <paramref name="version"/> (Absent for a missing id) is what the server may hold for it.</summary>
    public bool Accepts(long id, int version) =>
        Current(id) == version || (_alternative.TryGetValue(id, out int other) && other == version);
}
