namespace AnnServer.Collections;

/// <summary>What an upsert did. <see cref="LogPosition"/> is the write-ahead log position just past its record (a
/// collection on this server). A cluster write knows neither which ids existed (the replicas apply it later: inserted is
/// the number of points, replaced 0) nor a log position (0); it has the last stream sequence of every shard it touched,
/// by shard, in <see cref="Sequences"/>.</summary>
public readonly record struct UpsertResult(int Inserted, int Replaced, long LogPosition)
{
    private readonly IReadOnlyList<ShardPosition>? _sequences;

    public IReadOnlyList<ShardPosition> Sequences { get => _sequences ?? []; init => _sequences = value; }
}
