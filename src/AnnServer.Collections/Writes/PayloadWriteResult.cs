namespace AnnServer.Collections;

/// <summary>What a payload write (set, replace, delete fields, clear) did: ids that exist (<see cref="Updated"/>) and
/// ids that do not (<see cref="NotFound"/>), and the write-ahead log position just past its record (a collection on
/// this server). A cluster write has the last stream sequence of every shard it touched in <see cref="Sequences"/>.</summary>
public readonly record struct PayloadWriteResult(int Updated, int NotFound, long LogPosition)
{
    private readonly IReadOnlyList<ShardPosition>? _sequences;

    public IReadOnlyList<ShardPosition> Sequences { get => _sequences ?? []; init => _sequences = value; }
}
