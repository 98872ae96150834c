using AnnServer.Cluster.Import;
using AnnServer.Collections;

namespace AnnServer.Cluster.Tests;

/// <summary>Which files LoadSnapshot takes in cluster mode: the shard files ann-build --shards wrote beside the name it
/// was given (ShardFileNames' rule), or the file itself as one shard; never a file outside the import directory.</summary>
public sealed class ShardSnapshotFilesTests : IDisposable
{
    private readonly TempFolder _folder = new("annserver-import-files-");
    private readonly ImportDirectory _import;

    public ShardSnapshotFilesTests() => _import = new ImportDirectory(_folder.Path);

    public void Dispose() => _folder.Dispose();

    private void Touch(params string[] names)
    {
        foreach (string name in names)
        {
            string path = Path.Combine(_folder.Path, name);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllBytes(path, [1]);
        }
    }

    [Fact]
    public void TheShardFilesBesideTheBuildsNameAreTakenInShardOrder()
    {
        Touch("items.shard-2-of-3.snap", "items.shard-0-of-3.snap", "items.shard-1-of-3.snap", "other.shard-0-of-1.snap", "items.snap.bak");
        ShardSnapshotFiles files = ShardSnapshotFiles.Find(_import, "items.snap");
        Assert.Equal(3, files.Shards);
        Assert.Equal(["items.shard-0-of-3.snap", "items.shard-1-of-3.snap", "items.shard-2-of-3.snap"], files.Files.Select(f => f.Name));
        Assert.Equal([0, 1, 2], files.Files.Select(f => f.Shard));
    }

    [Fact]
    public void ShardFilesInASubFolderAreFoundThere()
    {
        Touch("daily/v42/items.shard-0-of-2.snap", "daily/v42/items.shard-1-of-2.snap");
        ShardSnapshotFiles files = ShardSnapshotFiles.Find(_import, "daily/v42/items.snap");
        Assert.Equal(2, files.Shards);
        Assert.All(files.Files, f => Assert.StartsWith(_import.Root, f.RealPath));
    }

    [Fact]
    public void AFileWithNoShardFilesBesideItIsOneShard()
    {
        Touch("single.snap");
        ShardSnapshotFiles files = ShardSnapshotFiles.Find(_import, "single.snap");
        Assert.Equal(0, Assert.Single(files.Files).Shard);
    }

    [Fact]
    public void AMissingShardFileIsNamed()
    {
        Touch("items.shard-0-of-3.snap", "items.shard-2-of-3.snap");
        var e = Assert.Throws<CollectionPreconditionException>(() => ShardSnapshotFiles.Find(_import, "items.snap"));
        Assert.Contains("'items.shard-1-of-3.snap' is missing", e.Message);
    }

    [Fact]
    public void FilesOfBuildsWithDifferentShardCountsAreRefused()
    {
        Touch("items.shard-0-of-2.snap", "items.shard-1-of-2.snap", "items.shard-0-of-3.snap");
        var e = Assert.Throws<ArgumentException>(() => ShardSnapshotFiles.Find(_import, "items.snap"));
        Assert.Contains("of-2, of-3", e.Message);
    }

    [Fact]
    public void NoFileAtAllIsNotFound() =>
        Assert.Throws<ImportFileNotFoundException>(() => ShardSnapshotFiles.Find(_import, "nothing.snap"));

    [Fact]
    public void APathOutOfTheImportDirectoryIsRefused()
    {
        Assert.Throws<ArgumentException>(() => ShardSnapshotFiles.Find(_import, "../items.snap"));
        using var outside = new TempFolder("annserver-import-outside-");
        File.WriteAllBytes(Path.Combine(outside.Path, "items.shard-0-of-1.snap"), [1]);
        // Its folder is not even looked into: the path itself is refused as outside.
        var e = Assert.Throws<ArgumentException>(() => ShardSnapshotFiles.Find(_import, Path.Combine(outside.Path, "items.snap")));
        Assert.Contains("outside the import directory", e.Message);
    }

    [Fact]
    public void AShardFileLinkedFromOutsideIsRefused()
    {
        using var outside = new TempFolder("annserver-import-outside-");
        string target = Path.Combine(outside.Path, "secret.snap");
        File.WriteAllBytes(target, [1]);
        File.CreateSymbolicLink(Path.Combine(_folder.Path, "items.shard-0-of-1.snap"), target);
        Assert.Throws<ArgumentException>(() => ShardSnapshotFiles.Find(_import, "items.snap"));
    }
}
