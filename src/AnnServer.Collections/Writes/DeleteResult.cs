namespace AnnServer.Collections;

/// <summary>What a delete did. <see cref="LogPosition"/> is the write-ahead log position just past its record (a
/// collection on this server). A cluster delete counts every id as deleted (not_found 0), has no log position, and has
/// the last stream sequence of every shard it touched, by shard, in <see cref="Sequences"/>.</summary>
public readonly record struct DeleteResult(int Deleted, int NotFound, long LogPosition)
{
    private readonly IReadOnlyList<ShardPosition>? _sequences;

    public IReadOnlyList<ShardPosition> Sequences { get => _sequences ?? []; init => _sequences = value; }
}
