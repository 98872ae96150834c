using System.Runtime.CompilerServices;
using AnnServer.Core.Storage;

namespace AnnServer.Core.Hnsw;

/// <summary>
/// Everything the HNSW graph knows about its nodes, by internal node number (0, 1, 2, … in insertion order).
/// </summary>
/// <remarks>
/// Layout, per node n:
/// <code>
///   Vectors        native, row n: Dimension float32, row size rounded up to 64 bytes (every vector cache-line aligned)
///   Codes          native, row n: the vector's int8 codes and scale (<see cref="Int8Codes"/>) or 4-bit codes and range
///                  (<see cref="Int4Codes"/>), only when quantized
///   Level0Links    native, row n: int32 count, then 2·M int32 neighbour ids (count valid)        = 4·(1 + 2M) bytes
///   InLinks0[n]    native: how many level-0 lists name node n (not persisted: counted again at the first insert after a load)
///   UpperLinks[n]  managed int[] for nodes above level 0: for level l ≥ 1, at (l−1)·(M+1): count, then M ids
///   Ids[n]         native: the caller's 64-bit id
///   States[n]      native: Pending, Live or Deleted
///   Labels[n]      the caller's labels, or null (chunks allocated only where a node has labels)
/// </code>
/// Links and walked rows stay in separate stores rather than hnswlib's one block per node (links, vector, label): a
/// prototype of the block, in three arrangements, was no faster at 1,000,000 × 128 and up to ~10 % slower there for int8
/// (bench/results/node-layout.md, made by bench/run-node-layout.sh). The rows already sit on 2 MiB pages, which takes
/// away most of what sharing pages saves, and links interleaved with the rows spread the walked rows over more memory.
/// A link list is written only under its node's stripe lock, count last; readers read without a lock: every id ever
/// written to a list names a node whose vector and lists were complete before it was linked, so a reader racing a
/// writer sees a mix of old and new neighbours, all valid.
/// </remarks>
internal sealed unsafe class GraphStorage : IDisposable
{
    private const int LockStripes = 4096;
    private const long NoEntryPoint = -1;

    private readonly object[] _linkLocks;
    private readonly object _allocationLock = new();
    private int _nodeCount;
    private long _entryPoint = NoEntryPoint;

    public GraphStorage(int dimension, DistanceMetric metric, int m, int efConstruction, VectorQuantization quantization = VectorQuantization.None)
    {
        Quantization = quantization;
        if (quantization == VectorQuantization.Int8) Codes = new NativeRowStore(Int8Codes.RowBytes(dimension));
        if (quantization == VectorQuantization.Int4) Codes = new NativeRowStore(Int4Codes.RowBytes(dimension));
        Dimension = dimension;
        Metric = metric;
        M = m;
        MaxLinks0 = 2 * m;
        EfConstruction = efConstruction;
        LevelMultiplier = 1 / Math.Log(m);
        VectorRowBytes = VectorRowBytesFor(dimension);
        Vectors = new NativeRowStore(VectorRowBytes);
        Level0Links = new NativeRowStore(Level0RowBytes);
        _linkLocks = new object[LockStripes];
        for (int i = 0; i < LockStripes; i++) _linkLocks[i] = new object();
    }

    public int Dimension { get; }
    public VectorQuantization Quantization { get; }

    /// <summary>A code row in a snapshot's QuantizedVectors section: int8 rows keep format version 2's padding to 64
    /// bytes (<see cref="Int8Codes.FileRowBytes"/>), int4 rows are written as memory holds them.</summary>
    public int CodeFileRowBytes => Quantization == VectorQuantization.Int8 ? Int8Codes.FileRowBytes(Dimension) : Codes!.RowBytes;
    public DistanceMetric Metric { get; }
    public int M { get; }
    public int MaxLinks0 { get; }
    public int EfConstruction { get; }
    public double LevelMultiplier { get; }
    public int VectorRowBytes { get; }
    public int Level0RowBytes => Level0RowBytesFor(M);

    /// <summary>A vector row: <paramref name="dimension"/> float32, rounded up to 64 bytes so that every vector is cache-line aligned.</summary>
    public static int VectorRowBytesFor(int dimension) =>
        (dimension * sizeof(float) + NativeRowStore.Alignment - 1) / NativeRowStore.Alignment * NativeRowStore.Alignment;

    /// <summary>A level-0 link row: the count, then 2·M neighbour ids.</summary>
    public static int Level0RowBytesFor(int m) => (1 + 2 * m) * sizeof(int);
    public int UpperLevelStride => M + 1;

    public NativeRowStore Vectors { get; }

    /// <summary>int8 codes of every vector (<see cref="Int8Codes"/>), when the index is quantized.</summary>
    public NativeRowStore? Codes { get; }
    public NativeRowStore Level0Links { get; }
    public ChunkedArray<int[]?> UpperLinks { get; } = new();

    /// <summary>
    /// In-degree on level 0, kept so that pruning a list never removes a node's last way in (see
    /// <c>HnswGraph.WritePruned</c>). Changed with <see cref="Interlocked"/>: many lists, under different locks, name one node.
    /// </summary>
    public NativeChunkedArray<int> InLinks0 { get; } = new();

    // A graph read from a snapshot counts its in-links at its first insert, not at load: a collection that only serves
    // searches never needs them, and the count is a random increment per link (a third of a million-point load).
    private volatile bool _inLinksUncounted;
    private readonly object _inLinksCountLock = new();

    public NativeChunkedArray<long> Ids { get; } = new();
    public NativeChunkedArray<NodeState> States { get; } = new();
    public SparseChunkedArray<int[]?> Labels { get; } = new();

    /// <summary>Nodes allocated so far; every node below this number has its storage (its state may still be Pending).</summary>
    public int NodeCount => Volatile.Read(ref _nodeCount);

    public bool IsEmpty => Volatile.Read(ref _entryPoint) == NoEntryPoint;

    /// <summary>The entry point and the top level, read together.</summary>
    public bool TryGetEntryPoint(out int node, out int level)
    {
        long packed = Volatile.Read(ref _entryPoint);
        node = (int)packed;
        level = (int)(packed >> 32);
        return packed != NoEntryPoint;
    }

    public void SetEntryPoint(int node, int level) => Volatile.Write(ref _entryPoint, ((long)level << 32) | (uint)node);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float* Vector(int node) => (float*)Vectors.Row(node);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public byte* CodeRow(int node) => Codes!.Row(node);

    /// <summary>Writes the code row of a node from its vector, when the index is quantized.</summary>
    public void EncodeCodes(int node)
    {
        if (Quantization == VectorQuantization.Int8) Int8Codes.Encode(Vector(node), Dimension, CodeRow(node));
        else if (Quantization == VectorQuantization.Int4) Int4Codes.Encode(Vector(node), Dimension, CodeRow(node));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int* Links0(int node) => (int*)Level0Links.Row(node);

    public object LinkLock(int node) => _linkLocks[node & (LockStripes - 1)];

    /// <summary>The top level of a node: 0 unless it has upper link lists.</summary>
    public int LevelOf(int node)
    {
        int[]? upper = UpperLinks[node];
        return upper is null ? 0 : upper.Length / UpperLevelStride;
    }

    /// <summary>Reserves storage for one more node, at a random level, with empty link lists, in state Pending.</summary>
    public int AllocateNode(int randomSeed)
    {
        lock (_allocationLock)
        {
            int node = _nodeCount;
            if (node == int.MaxValue) throw new InvalidOperationException("the index is full: 2^31 − 1 nodes");
            int level = RandomLevel(randomSeed, node, LevelMultiplier);
            EnsureCapacity(node + 1);
            // Native chunks are not zeroed when allocated (untouched pages then cost nothing): a new node's rows are, so
            // that no padding or unused slot carries old process memory into a snapshot.
            new Span<byte>(Vectors.Row(node), Vectors.RowBytes).Clear();
            if (Codes is not null) new Span<byte>(Codes.Row(node), Codes.RowBytes).Clear();
            new Span<byte>(Level0Links.Row(node), Level0RowBytes).Clear();
            InLinks0[node] = 0;
            UpperLinks[node] = level > 0 ? new int[level * UpperLevelStride] : null;
            States[node] = NodeState.Pending;
            Volatile.Write(ref _nodeCount, node + 1);
            return node;
        }
    }

    /// <summary>Says that <see cref="InLinks0"/> does not hold the counts of the level-0 lists yet (a graph just read).</summary>
    public void MarkInLinksUncounted() => _inLinksUncounted = true;

    /// <summary>
    /// Counts <see cref="InLinks0"/> from the level-0 lists if they were not counted since the graph was read; called before
    /// every insert. Inserts are the only writers of links and counts, and each waits here until the counts are in, so
    /// none can change a list while it is counted. The nodes are counted on every core, each range into its own array.
    /// </summary>
    public void EnsureInLinksCounted()
    {
        if (!_inLinksUncounted) return;
        lock (_inLinksCountLock)
        {
            if (!_inLinksUncounted) return;
            int nodes = NodeCount;
            int ranges = Math.Clamp(nodes / (1 << 16), 1, Environment.ProcessorCount);
            var counts = new int[ranges][];
            Parallel.For(0, ranges, new ParallelOptions { MaxDegreeOfParallelism = ranges }, range =>
            {
                int[] inLinks = counts[range] = new int[nodes];
                int to = (int)((long)nodes * (range + 1) / ranges);
                for (int node = (int)((long)nodes * range / ranges); node < to; node++)
                {
                    int* links = Links0(node);
                    for (int i = 1; i <= links[0]; i++) inLinks[links[i]]++;
                }
            });
            for (int first = 0; first < nodes; first += NativeChunkedArray<int>.ChunkSize)
            {
                int inChunk = Math.Min(NativeChunkedArray<int>.ChunkSize, nodes - first);
                Span<int> total = InLinks0.Chunk(first >> NativeChunkedArray<int>.ChunkShift)[..inChunk];
                counts[0].AsSpan(first, inChunk).CopyTo(total);
                for (int range = 1; range < ranges; range++)
                    System.Numerics.Tensors.TensorPrimitives.Add(total, counts[range].AsSpan(first, inChunk), total);
            }
            _inLinksUncounted = false;
        }
    }

    public void EnsureCapacity(int nodes)
    {
        Vectors.EnsureCapacity(nodes);
        Codes?.EnsureCapacity(nodes);
        Level0Links.EnsureCapacity(nodes);
        UpperLinks.EnsureCapacity(nodes);
        InLinks0.EnsureCapacity(nodes);
        Ids.EnsureCapacity(nodes);
        States.EnsureCapacity(nodes);
    }

    /// <summary>Sets the node count directly, for a graph restored from a snapshot.</summary>
    public void SetNodeCountForRestore(int nodeCount) => Volatile.Write(ref _nodeCount, nodeCount);

    /// <summary>Random level with the paper's multiplier 1/ln(M), derived from the seed and the node number so that a
    /// build is reproducible whatever the thread count.</summary>
    public static int RandomLevel(int seed, int node, double levelMultiplier)
    {
        ulong z = ((ulong)(uint)seed << 32 | (uint)node) + 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        z ^= z >> 31;
        double uniform = ((z >> 11) + 1) * (1.0 / (1UL << 53)); // (0, 1]
        return (int)(-Math.Log(uniform) * levelMultiplier);
    }

    public long MemoryBytes
    {
        get
        {
            long nodes = NodeCount;
            long upper = 0, labels = 0;
            for (int n = 0; n < nodes; n++)
            {
                int[]? list = UpperLinks[n];
                if (list is not null) upper += 24 + list.Length * sizeof(int);
                if (Labels[n] is { } nodeLabels) labels += 24 + nodeLabels.Length * sizeof(int);
            }
            return Vectors.OwnedBytes + Vectors.MappedBytes + (Codes?.OwnedBytes ?? 0) + (Codes?.MappedBytes ?? 0) + Level0Links.OwnedBytes + Level0Links.MappedBytes + upper
                + Ids.AllocatedBytes + States.AllocatedBytes + (long)UpperLinks.Capacity * IntPtr.Size + InLinks0.AllocatedBytes + Labels.AllocatedBytes + labels;
        }
    }

    /// <summary>What the vectors are mapped from (a snapshot file), released with the storage; null when they are all owned.</summary>
    public IDisposable? Backing { get; set; }

    public void Dispose()
    {
        Vectors.Dispose();
        Codes?.Dispose();
        Level0Links.Dispose();
        Ids.Dispose();
        States.Dispose();
        InLinks0.Dispose();
        Backing?.Dispose();
        Backing = null;
    }
}
