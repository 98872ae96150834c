using System.Text.Json.Nodes;
using AnnServer.Core;
using AnnServer.Core.Snapshots;
using AnnServer.Harness.Cli;
using AnnServer.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace AnnServer.Harness.Tests;

/// <summary>`ann-bench admin --json` against a real server in the test process, its --import-dir holding a snapshot of
/// 100 points: each call's record says when it started and was answered, and a load its size, time and state.</summary>
[Collection("ann-bench commands")]
public sealed class AdminCommandTests : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ann-bench-admin-").FullName;
    private WebApplication _server = null!;
    private string _target = null!;

    private string ImportDir => Path.Combine(_dir, "import");

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(ImportDir);
        using (var index = new HnswIndex(new HnswOptions { Dimension = 4, Metric = DistanceMetric.L2 }))
        {
            for (int i = 0; i < 100; i++) index.Upsert(i, [i, i % 7, i % 3, 1]);
            Snapshot.Save(index, Path.Combine(ImportDir, "v1.snap"));
        }
        _server = AnnServerHost.Build(["--host", "127.0.0.1", "--port", "0", "--metrics-port", "0", "--http-port", "-1",
            "--data-dir", Path.Combine(_dir, "data"), "--import-dir", ImportDir]);
        await _server.StartAsync();
        _target = $"http://127.0.0.1:{_server.Services.GetRequiredService<ServerEndpoints>().GrpcPort}";
    }

    public async Task DisposeAsync()
    {
        await _server.StopAsync();
        await _server.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public void ALoadRecordsItsSizeTimesAndTheServingState()
    {
        string json = Path.Combine(_dir, "load.json");
        long before = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

        int exit = AnnBenchCli.Run("admin", "--target", _target, "load-snapshot", "--name", "v1", "--path", "v1.snap", "--json", json);

        Assert.Equal(0, exit);
        JsonNode record = JsonNode.Parse(File.ReadAllText(json))!;
        Assert.Equal("load-snapshot", (string?)record["verb"]);
        Assert.Equal("v1", (string?)record["collection"]);
        Assert.Equal(100, (long)record["points"]!);
        Assert.Equal(new FileInfo(Path.Combine(ImportDir, "v1.snap")).Length, (long)record["bytes"]!);
        Assert.Equal("Ready", (string?)record["state"]);
        long started = (long)record["started_unix_ms"]!, answered = (long)record["answered_unix_ms"]!;
        Assert.InRange(started, before, answered);
        Assert.InRange((double)record["server_seconds"]!, 0, (double)record["client_seconds"]! + 0.001);
    }

    [Fact]
    public void AnUploadRecordsItsHashApartAndARefusedCallItsError()
    {
        string upload = Path.Combine(_dir, "upload.json"), again = Path.Combine(_dir, "again.json");

        int exit = AnnBenchCli.Run("admin", "--target", _target, "upload-snapshot", "--name", "v2", "--file", Path.Combine(ImportDir, "v1.snap"),
            "--json", upload);
        int refused = AnnBenchCli.Run("admin", "--target", _target, "upload-snapshot", "--name", "v2", "--file", Path.Combine(ImportDir, "v1.snap"),
            "--json", again);

        Assert.Equal(0, exit);
        JsonNode record = JsonNode.Parse(File.ReadAllText(upload))!;
        Assert.Equal("Ready", (string?)record["state"]);
        Assert.InRange((long)record["stream_started_unix_ms"]!, (long)record["started_unix_ms"]!, (long)record["answered_unix_ms"]!);
        Assert.True((double)record["hash_seconds"]! >= 0);
        Assert.Equal(1, refused);
        Assert.StartsWith("AlreadyExists: ", (string?)JsonNode.Parse(File.ReadAllText(again))!["error"]);
    }

    [Fact]
    public async Task BlueGreenLoadsSwitchesAndDropsInOrderAndRecordsEachStep()
    {
        string json = Path.Combine(_dir, "blue-green.json");
        Assert.Equal(0, AnnBenchCli.Run("admin", "--target", _target, "load-snapshot", "--name", "items-v1", "--path", "v1.snap"));
        Assert.Equal(0, AnnBenchCli.Run("admin", "--target", _target, "create-alias", "--alias", "items", "--collection", "items-v1"));

        int exit = AnnBenchCli.Run("admin", "--target", _target, "blue-green", "--alias", "items", "--from", "items-v1", "--to", "items-v2",
            "--path", "v1.snap", "--pause", "0s", "--json", json);

        Assert.Equal(0, exit);
        JsonArray steps = JsonNode.Parse(File.ReadAllText(json))!["steps"]!.AsArray();
        Assert.Equal(["load-snapshot", "switch-alias", "drop"], steps.Select(step => (string?)step!["step"]));
        Assert.Equal("Ready", (string?)steps[0]!["state"]);
        for (int i = 0; i < steps.Count; i++)
        {
            Assert.InRange((long)steps[i]!["answered_unix_ms"]!, (long)steps[i]!["started_unix_ms"]!, long.MaxValue);
            if (i > 0) Assert.True((long)steps[i]!["started_unix_ms"]! >= (long)steps[i - 1]!["answered_unix_ms"]!);
        }
        using var channel = Grpc.Net.Client.GrpcChannel.ForAddress(_target);
        var client = new AnnServer.Protocol.V1.CollectionService.CollectionServiceClient(channel);
        var aliases = await client.ListAliasesAsync(new AnnServer.Protocol.V1.ListAliasesRequest());
        Assert.Equal("items-v2", Assert.Single(aliases.Aliases).Collection);
        var names = (await client.ListCollectionsAsync(new AnnServer.Protocol.V1.ListCollectionsRequest())).Collections.Select(c => c.Name);
        Assert.DoesNotContain("items-v1", names);
    }
}
