using System.Buffers.Binary;
using System.IO.Hashing;

namespace AnnServer.Core.Sharding;

/// <summary>
/// Which shard a point belongs to: <c>xxHash64(id as 8 little-endian bytes, seed 0) mod shards</c>.
/// The rule is part of the cluster's contract (docs/cluster.md): ann-build and every node apply it, so it must never
/// change for an existing collection. A hash rather than <c>id mod shards</c> because callers' ids are often
/// sequential or strided, which would leave shards uneven.
/// </summary>
public static class ShardHash
{
    public static int ShardOf(long id, int shards)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(shards, 1);
        Span<byte> bytes = stackalloc byte[sizeof(long)];
        BinaryPrimitives.WriteInt64LittleEndian(bytes, id);
        return (int)(XxHash64.HashToUInt64(bytes) % (ulong)shards);
    }
}
