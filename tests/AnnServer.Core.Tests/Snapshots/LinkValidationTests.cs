using System.Buffers.Binary;
using AnnServer.Core.Snapshots;

namespace AnnServer.Core.Tests.Snapshots;

/// <summary>
/// A snapshot whose checksums hold can still be crafted, or written by a bug, with links that name no node: every load
/// checks the lists (in memory when it reads the file, from the file when it maps it) and fails with a format error
/// naming the node, never reading outside the index. Loaded with checksums skipped, so that only these checks stand.
/// </summary>
public sealed class LinkValidationTests : IDisposable
{
    private const int M = 6; // 12 links a level-0 list: one whole vector of 8 checked at once, and 4 checked one by one
    private const int Points = 3_000;
    private readonly string _folder = Directory.CreateTempSubdirectory("annserver-links-").FullName;
    private readonly string _path;
    private readonly SnapshotSectionInfo _level0;
    private readonly SnapshotSectionInfo _upper;
    private readonly int _rowBytes = 4 * (1 + 2 * M);

    public LinkValidationTests()
    {
        _path = Path.Combine(_folder, "a.snap");
        using (var index = new HnswIndex(new HnswOptions { Dimension = 4, Metric = DistanceMetric.L2, M = M, EfConstruction = 40 }))
        {
            index.UpsertMany(TestData.Clustered(Points, 4, seed: 7), TestData.Ids(Points), threads: 2);
            Snapshot.Save(index, _path);
        }
        var info = Snapshot.ReadInfo(_path);
        _level0 = info.Sections.Single(s => s.Name == "Level0Links");
        _upper = info.Sections.Single(s => s.Name == "UpperLinks");
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    public static TheoryData<bool, int> Loads => new() { { true, 1 }, { true, 2 }, { false, 1 }, { false, 2 } };

    [Theory]
    [MemberData(nameof(Loads))]
    public void TheUndamagedFileLoads(bool readIntoMemory, int threads)
    {
        using var index = Load(readIntoMemory, threads);
        Assert.Equal(Points, index.Count);
    }

    [Theory]
    [MemberData(nameof(Loads))]
    public void ALevel0LinkBeyondTheNodesInTheVectorCheckedPartFailsTheLoad(bool readIntoMemory, int threads) =>
        ALevel0LinkBeyondTheNodesFailsTheLoad(readIntoMemory, threads, position: 2);

    [Theory]
    [MemberData(nameof(Loads))]
    public void ALevel0LinkBeyondTheNodesInTheTailCheckedOneByOneFailsTheLoad(bool readIntoMemory, int threads) =>
        ALevel0LinkBeyondTheNodesFailsTheLoad(readIntoMemory, threads, position: 10);

    private void ALevel0LinkBeyondTheNodesFailsTheLoad(bool readIntoMemory, int threads, int position)
    {
        byte[] file = File.ReadAllBytes(_path);
        int node = NodeWithAtLeast(file, position);
        WriteInt(file, _level0.Offset + (long)node * _rowBytes + 4 * position, Points + 5);
        File.WriteAllBytes(_path, file);

        var e = Assert.Throws<SnapshotFormatException>(() => Load(readIntoMemory, threads));
        Assert.Contains($"section Level0Links: node {node} links to node {Points + 5}, beyond the {Points} nodes", e.Message);
    }

    [Theory]
    [MemberData(nameof(Loads))]
    public void ALevel0ListLongerThanTheMaximumFailsTheLoad(bool readIntoMemory, int threads)
    {
        byte[] file = File.ReadAllBytes(_path);
        WriteInt(file, _level0.Offset + 1234L * _rowBytes, 2 * M + 1);
        File.WriteAllBytes(_path, file);

        var e = Assert.Throws<SnapshotFormatException>(() => Load(readIntoMemory, threads));
        Assert.Contains($"section Level0Links: node 1234 has {2 * M + 1} links, at most {2 * M} allowed", e.Message);
    }

    [Theory]
    [MemberData(nameof(Loads))]
    public void AnUpperLinkToANodeNotOnThatLevelFailsTheLoad(bool readIntoMemory, int threads)
    {
        byte[] file = File.ReadAllBytes(_path);
        // Records: node, level, then level × (count + M links). The first record's first level-1 link is made to name a
        // node that has no upper levels.
        long record = _upper.Offset;
        int node = ReadInt(file, record);
        var upperNodes = new HashSet<int>();
        for (long at = _upper.Offset; at < _upper.Offset + _upper.Length; at += 8 + 4L * ReadInt(file, at + 4) * (M + 1))
            upperNodes.Add(ReadInt(file, at));
        int levelZeroNode = Enumerable.Range(0, Points).First(n => !upperNodes.Contains(n));
        Assert.True(ReadInt(file, record + 8) >= 1, "the first upper list has a link to damage");
        WriteInt(file, record + 12, levelZeroNode);
        File.WriteAllBytes(_path, file);

        var e = Assert.Throws<SnapshotFormatException>(() => Load(readIntoMemory, threads));
        Assert.Contains($"section UpperLinks: node {node} links on level 1 to node {levelZeroNode}, which is not on that level", e.Message);
    }

    private HnswIndex Load(bool readIntoMemory, int threads) =>
        Snapshot.Load(_path, new SnapshotLoadOptions { ReadIntoMemory = readIntoMemory, SkipChecksums = true, Threads = threads }).Index;

    /// <summary>The first node whose level-0 list has more than <paramref name="position"/> - 1 links.</summary>
    private int NodeWithAtLeast(byte[] file, int position)
    {
        for (int node = 0; node < Points; node++)
            if (ReadInt(file, _level0.Offset + (long)node * _rowBytes) >= position) return node;
        throw new InvalidOperationException($"no level-0 list of {position} links");
    }

    private static int ReadInt(byte[] file, long offset) => BinaryPrimitives.ReadInt32LittleEndian(file.AsSpan((int)offset));

    private static void WriteInt(byte[] file, long offset, int value) => BinaryPrimitives.WriteInt32LittleEndian(file.AsSpan((int)offset), value);
}
