using AnnServer.Core;
using Microsoft.Extensions.Logging.Abstractions;

namespace AnnServer.Collections.Tests;

/// <summary>One owner per data directory and per collection log; another process is refused by the same lock (see
/// AnnServer.Tests' StartFailureTests, which starts a second server binary).</summary>
public sealed class DataDirectoryLockTests
{
    [Fact]
    public async Task ASecondRegistryOnTheFolderIsRefusedAndTheMessageNamesTheHoldersPid()
    {
        using var dataDir = new TempFolder();
        await using var first = new CollectionRegistry(new DataDirectory(dataDir.Path), NullLogger<CollectionRegistry>.Instance);
        await first.LoadAsync([], CancellationToken.None);
        await using var second = new CollectionRegistry(new DataDirectory(dataDir.Path), NullLogger<CollectionRegistry>.Instance);

        var e = Assert.Throws<FolderInUseException>(second.LockDataDirectory); // what LoadAsync does first

        Assert.Equal(Environment.ProcessId, e.HolderPid);
        Assert.Contains($"in use by process {Environment.ProcessId}", e.Message);
        Assert.Equal($"{Environment.ProcessId}\n", File.ReadAllText(Path.Combine(dataDir.Path, FolderLock.HolderFileName)));
    }

    [Fact]
    public async Task DisposingTheRegistryReleasesTheFolder()
    {
        using var dataDir = new TempFolder();
        await using (var first = new CollectionRegistry(new DataDirectory(dataDir.Path), NullLogger<CollectionRegistry>.Instance))
            await first.LoadAsync([], CancellationToken.None);

        using var next = new DataDirectory(dataDir.Path);
        next.Lock();

        Assert.True(next.IsLocked);
    }

    [Fact]
    public async Task AnOpenCollectionHoldsItsLogFolderUntilItIsClosed()
    {
        using var dataDir = new TempFolder();
        string logFolder = DataDirectory.LogFolder(Path.Combine(dataDir.Path, "c"));
        await using (var registry = new CollectionRegistry(new DataDirectory(dataDir.Path), NullLogger<CollectionRegistry>.Instance))
        {
            await registry.LoadAsync([], CancellationToken.None);
            await registry.CreateAsync("c", new HnswOptions { Dimension = 4 }, CancellationToken.None);

            Assert.Throws<FolderInUseException>(() => FolderLock.Acquire(logFolder, recordHolder: false));
        }

        using FolderLock after = FolderLock.Acquire(logFolder, recordHolder: false);
        Assert.Equal(logFolder, after.Folder);
    }
}
