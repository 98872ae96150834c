using AnnServer.Cluster.Replication;
using Xunit;

namespace AnnServer.Cluster.Tests;

/// <summary>The replica's stream-sequence file (docs/log-format.md): whichever moment a checkpoint crashed at, the
/// sequence that belongs to the snapshot in place is found; files that belong to no snapshot are refused.</summary>
public sealed class ReplicationSequenceFileTests
{
    [Fact]
    public void TheFileMatchingTheSnapshotPositionWins()
    {
        using var folder = new TempFolder();
        StreamSequenceFile.Write(StreamSequenceFile.PathIn(folder.Path), 100, 7);
        // Crash after the new file was written, before the snapshot was renamed: the old pair still rules.
        StreamSequenceFile.Write(StreamSequenceFile.PendingPathIn(folder.Path), 200, 9);
        Assert.Equal(7UL, StreamSequenceFile.Resolve(folder.Path, 100));
        Assert.False(File.Exists(StreamSequenceFile.PendingPathIn(folder.Path)));
    }

    [Fact]
    public void APendingFileMatchingARenamedSnapshotIsPromoted()
    {
        using var folder = new TempFolder();
        StreamSequenceFile.Write(StreamSequenceFile.PathIn(folder.Path), 100, 7);
        StreamSequenceFile.Write(StreamSequenceFile.PendingPathIn(folder.Path), 200, 9);
        // Crash after the snapshot (P = 200) was renamed, before the sequence file was.
        Assert.Equal(9UL, StreamSequenceFile.Resolve(folder.Path, 200));
        Assert.Equal((200L, 9UL), StreamSequenceFile.Read(StreamSequenceFile.PathIn(folder.Path)));
        Assert.False(File.Exists(StreamSequenceFile.PendingPathIn(folder.Path)));
    }

    [Fact]
    public void NoFileMeansSequenceZeroAndAFileOfAnotherSnapshotIsRefused()
    {
        using var folder = new TempFolder();
        Assert.Equal(0UL, StreamSequenceFile.Resolve(folder.Path, 0));
        StreamSequenceFile.Write(StreamSequenceFile.PathIn(folder.Path), 100, 7);
        var e = Assert.Throws<InvalidDataException>(() => StreamSequenceFile.Resolve(folder.Path, 300));
        Assert.Contains("do not belong together", e.Message);
    }

    [Fact]
    public void ADamagedFileIsNamed()
    {
        using var folder = new TempFolder();
        string path = StreamSequenceFile.PathIn(folder.Path);
        StreamSequenceFile.Write(path, 100, 7);
        byte[] bytes = File.ReadAllBytes(path);
        bytes[17] ^= 1;
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<InvalidDataException>(() => StreamSequenceFile.Read(path));
        Assert.Contains("checksum", e.Message);
        Assert.Contains(path, e.Message);
    }
}
