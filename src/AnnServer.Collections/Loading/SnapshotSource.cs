namespace AnnServer.Collections;

/// <summary>Where a snapshot to load comes from: <see cref="ImportedSnapshotFile"/> or <see cref="SnapshotUpload"/>.</summary>
public abstract record SnapshotSource;

/// <summary>A file of the server's import directory, named relative to it (<see cref="ImportDirectory.Resolve"/>). In
/// cluster mode, the name ann-build --shards was given, and <see cref="Replicas"/> copies of each shard (0: the
/// cluster's default); a single server ignores it.</summary>
public sealed record ImportedSnapshotFile(string Path, int Replicas = 0) : SnapshotSource;

/// <summary>A file sent by the client: <see cref="TotalBytes"/> bytes whose SHA-256 is <see cref="Sha256"/>, arriving
/// as <see cref="Chunks"/> in order. The chunks are written to the data directory as they come, never gathered in
/// memory; a chunk's memory may be reused once the next is asked for.</summary>
public sealed record SnapshotUpload(long TotalBytes, byte[] Sha256, IAsyncEnumerable<ReadOnlyMemory<byte>> Chunks) : SnapshotSource;
