using System.Security.Cryptography;
using AnnServer.Core;
using AnnServer.Core.Snapshots;
using AnnServer.Protocol.V1;
using Google.Protobuf;
using Grpc.Core;

namespace AnnServer.Tests;

/// <summary>LoadSnapshot and UploadSnapshot on a real server: a snapshot becomes a durable collection while the server
/// serves; a path outside --import-dir, a damaged file or upload, a cancelled load and a taken name leave nothing.</summary>
public sealed class SnapshotLoadTests : IDisposable
{
    private const int Dimension = 8;
    private const int Points = 300;
    private readonly TempFolder _imports = new();
    private readonly TempFolder _outside = new();
    private readonly float[] _vectors;

    public SnapshotLoadTests()
    {
        using HnswIndex index = TestData.BuildIndex(Points, Dimension, DistanceMetric.L2, seed: 19, out _vectors);
        Snapshot.Save(index, _imports.File("items-v1.snap"));
        Directory.CreateDirectory(_imports.File("daily"));
        File.Copy(_imports.File("items-v1.snap"), Path.Combine(_imports.Path, "daily", "items-v2.snap"));
        File.Copy(_imports.File("items-v1.snap"), _outside.File("secret.snap"));
    }

    public void Dispose()
    {
        _imports.Dispose();
        _outside.Dispose();
    }

    [Fact]
    public async Task AFileOfTheImportDirectoryBecomesADurableServingCollection()
    {
        using var dataDir = new TempFolder();
        await using (RunningServer server = await StartAsync(dataDir.Path))
        {
            LoadSnapshotResponse loaded = await server.Collections.LoadSnapshotAsync(new LoadSnapshotRequest { Name = "items", Path = "daily/items-v2.snap" });

            Assert.Equal(Protocol.V1.CollectionState.Ready, loaded.Info.State);
            Assert.Equal((ulong)Points, loaded.Info.Count);
            Assert.Equal((ulong)new FileInfo(_imports.File("items-v1.snap")).Length, loaded.Bytes);
            await AssertFindsItsOwnPointsAsync(server, "items");
            await server.Vectors.UpsertAsync(new UpsertRequest { Collection = "items", Points = { TestData.Point(5, new float[Dimension]) } });
        }
        await using (RunningServer restarted = await StartAsync(dataDir.Path))
        {
            CollectionInfo info = await restarted.Collections.GetCollectionInfoAsync(new GetCollectionInfoRequest { Name = "items" });
            Assert.Equal((ulong)Points + 1, info.Count);
            await AssertFindsItsOwnPointsAsync(restarted, "items");
        }
    }

    [Fact]
    public async Task TheSnapshotsSourcePositionIsShownAndOutlivesACheckpointAndARestart()
    {
        const string position = "items-embeddings:0=18234,1=18107";
        using (HnswIndex index = TestData.BuildIndex(Points, Dimension, DistanceMetric.L2, seed: 23, out _))
        {
            index.SourcePosition = position;
            Snapshot.Save(index, _imports.File("positioned.snap"));
        }
        using var dataDir = new TempFolder();
        await using (RunningServer server = await StartAsync(dataDir.Path))
        {
            LoadSnapshotResponse loaded = await server.Collections.LoadSnapshotAsync(new LoadSnapshotRequest { Name = "items", Path = "positioned.snap" });
            Assert.Equal(position, loaded.Info.SourcePosition);
            await server.Vectors.UpsertAsync(new UpsertRequest { Collection = "items", Points = { TestData.Point(5, new float[Dimension]) } });
            await server.Collections.CheckpointAsync(new CheckpointRequest { Name = "items" });
        }
        await using (RunningServer restarted = await StartAsync(dataDir.Path))
        {
            CollectionInfo info = await restarted.Collections.GetCollectionInfoAsync(new GetCollectionInfoRequest { Name = "items" });
            Assert.Equal(position, info.SourcePosition);
            Assert.Equal((ulong)Points + 1, info.Count);
        }
        await using (RunningServer server = await StartAsync())
        {
            await server.Collections.LoadSnapshotAsync(new LoadSnapshotRequest { Name = "plain", Path = "items-v1.snap" });
            Assert.Equal("", (await server.Collections.GetCollectionInfoAsync(new GetCollectionInfoRequest { Name = "plain" })).SourcePosition);
        }
    }

    [Fact]
    public async Task AnAbsolutePathInsideTheImportDirectoryIsAccepted()
    {
        await using RunningServer server = await StartAsync();
        LoadSnapshotResponse loaded = await server.Collections.LoadSnapshotAsync(new LoadSnapshotRequest { Name = "items", Path = _imports.File("items-v1.snap") });
        Assert.Equal((ulong)Points, loaded.Info.Count);
    }

    [Fact]
    public async Task AnUploadInChunksBecomesAServingCollection()
    {
        await using RunningServer server = await StartAsync();
        byte[] file = await File.ReadAllBytesAsync(_imports.File("items-v1.snap"));

        LoadSnapshotResponse loaded = await UploadAsync(server, "uploaded", file, SHA256.HashData(file), chunkBytes: 4096);

        Assert.Equal((ulong)Points, loaded.Info.Count);
        Assert.Equal((ulong)file.Length, loaded.Bytes);
        await AssertFindsItsOwnPointsAsync(server, "uploaded");
        AssertNoStagingLeft(server.DataDir);
    }

    [Theory]
    [InlineData("../secret.snap", "contains '..'")]
    [InlineData("daily/../../secret.snap", "contains '..'")]
    [InlineData("OUTSIDE/secret.snap", "is outside the import directory")]
    [InlineData("link-out.snap", "leads outside the import directory")]
    [InlineData("linked-folder/secret.snap", "leads outside the import directory")]
    public async Task PathsThatLeadOutOfTheImportDirectoryAreRefused(string path, string why)
    {
        File.CreateSymbolicLink(_imports.File("link-out.snap"), _outside.File("secret.snap"));
        Directory.CreateSymbolicLink(_imports.File("linked-folder"), _outside.Path);
        await using RunningServer server = await StartAsync();

        RpcException e = await Assert.ThrowsAsync<RpcException>(async () => await server.Collections.LoadSnapshotAsync(
            new LoadSnapshotRequest { Name = "stolen", Path = path.Replace("OUTSIDE", _outside.Path) }));

        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Contains(why, e.Status.Detail);
        await AssertNothingLeftAsync(server, "stolen");
    }

    [Fact]
    public async Task AMissingFileIsNotFoundAndAServerWithoutImportDirLoadsNoFiles()
    {
        await using RunningServer server = await StartAsync();
        RpcException missing = await Assert.ThrowsAsync<RpcException>(async () =>
            await server.Collections.LoadSnapshotAsync(new LoadSnapshotRequest { Name = "x", Path = "nope.snap" }));
        await using RunningServer without = await RunningServer.StartAsync();
        RpcException refused = await Assert.ThrowsAsync<RpcException>(async () =>
            await without.Collections.LoadSnapshotAsync(new LoadSnapshotRequest { Name = "x", Path = "items-v1.snap" }));

        Assert.Equal(StatusCode.NotFound, missing.StatusCode);
        Assert.Contains("nope.snap", missing.Status.Detail);
        Assert.Equal(StatusCode.FailedPrecondition, refused.StatusCode);
        Assert.Contains("--import-dir", refused.Status.Detail);
    }

    [Fact]
    public async Task AnUploadWhoseChecksumDiffersIsRefusedAndLeavesNothing()
    {
        await using RunningServer server = await StartAsync();
        byte[] file = await File.ReadAllBytesAsync(_imports.File("items-v1.snap"));
        byte[] wrong = SHA256.HashData(file);
        wrong[0] ^= 1;

        RpcException e = await Assert.ThrowsAsync<RpcException>(() => UploadAsync(server, "items", file, wrong, chunkBytes: 8192));

        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Contains("SHA-256", e.Status.Detail);
        await AssertNothingLeftAsync(server, "items");
        // The name is free again.
        await UploadAsync(server, "items", file, SHA256.HashData(file), chunkBytes: 8192);
    }

    [Fact]
    public async Task AnUploadShorterOrLongerThanItsHeaderSaysIsRefused()
    {
        await using RunningServer server = await StartAsync();
        byte[] file = await File.ReadAllBytesAsync(_imports.File("items-v1.snap"));

        RpcException shorter = await Assert.ThrowsAsync<RpcException>(() =>
            UploadAsync(server, "items", file.AsSpan(0, file.Length - 1).ToArray(), SHA256.HashData(file), chunkBytes: 8192, totalBytes: file.Length));
        RpcException longer = await Assert.ThrowsAsync<RpcException>(() =>
            UploadAsync(server, "items", file, SHA256.HashData(file), chunkBytes: 8192, totalBytes: file.Length - 1));

        Assert.Equal(StatusCode.InvalidArgument, shorter.StatusCode);
        Assert.Contains($"ended after {file.Length - 1} of the {file.Length} bytes", shorter.Status.Detail);
        Assert.Equal(StatusCode.InvalidArgument, longer.StatusCode);
        Assert.Contains("more than the", longer.Status.Detail);
        await AssertNothingLeftAsync(server, "items");
    }

    [Fact]
    public async Task ADamagedSnapshotIsRefusedFromAFileAndFromAnUpload()
    {
        byte[] damaged = await File.ReadAllBytesAsync(_imports.File("items-v1.snap"));
        damaged[damaged.Length / 2] ^= 0xFF;
        await File.WriteAllBytesAsync(_imports.File("damaged.snap"), damaged);
        await using RunningServer server = await StartAsync();

        RpcException fromFile = await Assert.ThrowsAsync<RpcException>(async () =>
            await server.Collections.LoadSnapshotAsync(new LoadSnapshotRequest { Name = "items", Path = "damaged.snap" }));
        RpcException fromUpload = await Assert.ThrowsAsync<RpcException>(() =>
            UploadAsync(server, "items", damaged, SHA256.HashData(damaged), chunkBytes: 8192));

        Assert.Equal(StatusCode.InvalidArgument, fromFile.StatusCode);
        Assert.Contains("damaged", fromFile.Status.Detail);
        Assert.Equal(StatusCode.InvalidArgument, fromUpload.StatusCode);
        Assert.Contains("damaged", fromUpload.Status.Detail);
        await AssertNothingLeftAsync(server, "items");
    }

    [Fact]
    public async Task ACancelledUploadShowsItsProgressWhileLoadingThenLeavesNothing()
    {
        await using RunningServer server = await StartAsync();
        byte[] file = await File.ReadAllBytesAsync(_imports.File("items-v1.snap"));
        using var cancel = new CancellationTokenSource();
        using AsyncClientStreamingCall<UploadSnapshotRequest, LoadSnapshotResponse> call = server.Collections.UploadSnapshot(cancellationToken: cancel.Token);
        await call.RequestStream.WriteAsync(new UploadSnapshotRequest
        {
            Header = new UploadSnapshotHeader { Name = "items", TotalBytes = (ulong)file.Length, Sha256 = ByteString.CopyFrom(SHA256.HashData(file)) },
        });
        await call.RequestStream.WriteAsync(new UploadSnapshotRequest { Chunk = ByteString.CopyFrom(file, 0, 1000) });

        CollectionInfo loading = await WaitForAsync(server, "items", info => info.LoadBytesDone == 1000);
        ListCollectionsResponse listed = await server.Collections.ListCollectionsAsync(new ListCollectionsRequest());
        RpcException search = await Assert.ThrowsAsync<RpcException>(async () =>
            await server.Vectors.SearchAsync(TestData.Search("items", new float[Dimension], k: 1)));
        RpcException create = await Assert.ThrowsAsync<RpcException>(async () => await server.Collections.CreateCollectionAsync(
            new CreateCollectionRequest { Name = "items", Dimension = 4, Metric = Metric.L2 }));
        cancel.Cancel();
        await Assert.ThrowsAnyAsync<RpcException>(() => call.ResponseAsync);

        Assert.Equal(Protocol.V1.CollectionState.Loading, loading.State);
        Assert.Equal("receiving", loading.LoadStep);
        Assert.Equal((ulong)file.Length, loading.LoadBytesTotal);
        Assert.Equal(Protocol.V1.CollectionState.Loading, Assert.Single(listed.Collections).State);
        Assert.Equal(StatusCode.Unavailable, search.StatusCode);
        Assert.Equal(StatusCode.AlreadyExists, create.StatusCode);
        await WaitUntilGoneAsync(server, "items");
        await AssertNothingLeftAsync(server, "items");
    }

    [Fact]
    public async Task ANameTakenByACollectionOrAnAliasIsAlreadyExists()
    {
        await using RunningServer server = await StartAsync();
        await server.Collections.CreateCollectionAsync(new CreateCollectionRequest { Name = "items", Dimension = 4, Metric = Metric.L2 });
        await server.Collections.CreateAliasAsync(new CreateAliasRequest { Alias = "live", Collection = "items" });

        RpcException collection = await Assert.ThrowsAsync<RpcException>(async () =>
            await server.Collections.LoadSnapshotAsync(new LoadSnapshotRequest { Name = "items", Path = "items-v1.snap" }));
        RpcException alias = await Assert.ThrowsAsync<RpcException>(async () =>
            await server.Collections.LoadSnapshotAsync(new LoadSnapshotRequest { Name = "live", Path = "items-v1.snap" }));

        Assert.Equal(StatusCode.AlreadyExists, collection.StatusCode);
        Assert.Equal(StatusCode.AlreadyExists, alias.StatusCode);
        Assert.Contains("alias", alias.Status.Detail);
        Assert.Equal(4u, (await server.Collections.GetCollectionInfoAsync(new GetCollectionInfoRequest { Name = "items" })).Dimension);
    }

    [Fact]
    public async Task ASnapshotBeyondTheMemoryBudgetIsRefusedBeforeItIsLoaded()
    {
        await using RunningServer server = await StartAsync(args: ["--memory-budget-bytes", "100000"]);

        RpcException e = await Assert.ThrowsAsync<RpcException>(async () =>
            await server.Collections.LoadSnapshotAsync(new LoadSnapshotRequest { Name = "items", Path = "items-v1.snap" }));

        Assert.Equal(StatusCode.ResourceExhausted, e.StatusCode);
        Assert.Contains("--memory-budget-bytes", e.Status.Detail);
        await AssertNothingLeftAsync(server, "items");
    }

    private Task<RunningServer> StartAsync(string? dataDir = null, params string[] args) =>
        RunningServer.StartAsync(dataDir, args: ["--import-dir", _imports.Path, .. args]);

    internal static async Task<LoadSnapshotResponse> UploadAsync(RunningServer server, string name, byte[] file, byte[] sha256, int chunkBytes,
        long? totalBytes = null)
    {
        using AsyncClientStreamingCall<UploadSnapshotRequest, LoadSnapshotResponse> call = server.Collections.UploadSnapshot();
        await call.RequestStream.WriteAsync(new UploadSnapshotRequest
        {
            Header = new UploadSnapshotHeader { Name = name, TotalBytes = (ulong)(totalBytes ?? file.Length), Sha256 = ByteString.CopyFrom(sha256) },
        });
        try
        {
            for (int offset = 0; offset < file.Length; offset += chunkBytes)
                await call.RequestStream.WriteAsync(new UploadSnapshotRequest
                {
                    Chunk = ByteString.CopyFrom(file, offset, Math.Min(chunkBytes, file.Length - offset)),
                });
            await call.RequestStream.CompleteAsync();
        }
        catch (RpcException)
        {
            // The server answered before the whole file was sent (a refusal): the answer says why.
        }
        return await call.ResponseAsync;
    }

    private async Task AssertFindsItsOwnPointsAsync(RunningServer server, string collection)
    {
        for (int row = 0; row < 20; row++)
        {
            SearchResponse response = await server.Vectors.SearchAsync(TestData.Search(collection, TestData.Row(_vectors, Dimension, row), k: 1, ef: 64));
            Assert.Equal(1000 + row, response.Hits[0].Id);
        }
    }

    private static async Task AssertNothingLeftAsync(RunningServer server, string name)
    {
        RpcException e = await Assert.ThrowsAsync<RpcException>(async () =>
            await server.Collections.GetCollectionInfoAsync(new GetCollectionInfoRequest { Name = name }));
        Assert.Equal(StatusCode.NotFound, e.StatusCode);
        Assert.DoesNotContain((await server.Collections.ListCollectionsAsync(new ListCollectionsRequest())).Collections, c => c.Name == name);
        Assert.False(Directory.Exists(Path.Combine(server.DataDir, name)));
        AssertNoStagingLeft(server.DataDir);
    }

    private static void AssertNoStagingLeft(string dataDir) =>
        Assert.DoesNotContain(Directory.GetFileSystemEntries(dataDir), entry => Path.GetFileName(entry).StartsWith(".creating-", StringComparison.Ordinal));

    private static async Task<CollectionInfo> WaitForAsync(RunningServer server, string name, Func<CollectionInfo, bool> condition)
    {
        DateTime deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            try
            {
                CollectionInfo info = await server.Collections.GetCollectionInfoAsync(new GetCollectionInfoRequest { Name = name });
                if (condition(info)) return info;
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.NotFound) { }
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"collection {name} did not reach the expected state");
            await Task.Delay(10);
        }
    }

    private static async Task WaitUntilGoneAsync(RunningServer server, string name)
    {
        DateTime deadline = DateTime.UtcNow.AddSeconds(30);
        while (server.Registry.FindLoading(name) is not null)
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"the load of {name} did not end after its cancellation");
            await Task.Delay(10);
        }
    }
}
