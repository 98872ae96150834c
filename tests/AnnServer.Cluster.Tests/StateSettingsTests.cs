using AnnServer.Cluster.State;
using AnnServer.Hosting;
using AnnServer.Protocol.V1;
using AnnServer.Settings;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace AnnServer.Cluster.Tests;

/// <summary>The cluster settings, and a server without --cluster-nats: cluster calls are refused with a message saying
/// how to turn cluster mode on, and nothing else changes.</summary>
public sealed class StateSettingsTests
{
    private static readonly Dictionary<string, string> NoEnvironment = new();

    /// <summary>The cluster settings as the process reads and checks them.</summary>
    private static ClusterOptions ReadClusterOptions(string[] args, Dictionary<string, string> environment)
    {
        var (_, configuration) = ServerSettings.Read(args, environment: environment);
        using ServiceProvider settings = ServerSettingsRegistration.Check(configuration);
        return settings.GetRequiredService<ClusterOptions>();
    }

    [Fact]
    public void ClusterSettingsAreReadFromTheCommandLineAndTheEnvironment()
    {
        ClusterOptions options = ReadClusterOptions(
            ["--cluster-nats", "nats://a:4222,nats://b:4222", "--node-id", "node-7", "--cluster-role", "router", "--stream-replicas", "1",
             "--heartbeat-ms", "200", "--node-ttl-ms", "1000", "--hedge-after-ms", "15", "--advertise-address", "http://10.0.0.7:50051"],
            new Dictionary<string, string> { ["ANNSERVER_CLUSTER_API_KEY"] = "secret" });

        Assert.True(options.ClusterMode);
        Assert.Equal("nats://a:4222,nats://b:4222", options.ClusterNats);
        Assert.Equal("node-7", options.NodeId);
        Assert.Equal(ClusterRole.Router, options.ClusterRole);
        Assert.Equal(1, options.StreamReplicas);
        Assert.Equal(200, options.HeartbeatMs);
        Assert.Equal(1000, options.NodeTtlMs);
        Assert.Equal(15, options.HedgeAfterMs);
        Assert.Equal("http://10.0.0.7:50051", options.AdvertiseAddress);
        Assert.Equal("secret", options.ClusterApiKey);
    }

    [Fact]
    public void WithoutClusterNatsTheServerIsNotInClusterMode()
    {
        ClusterOptions options = ReadClusterOptions([], NoEnvironment);

        Assert.False(options.ClusterMode);
        Assert.Equal(ClusterRole.All, options.ClusterRole);
        Assert.Null(ClusterNodeId.Problem(options.NodeId));
    }

    [Theory]
    [InlineData("--node-id", "a.b", "node-id 'a.b' contains '.'")]
    [InlineData("--cluster-role", "leader", "expected all, replica or router, got 'leader'")]
    [InlineData("--stream-replicas", "7", "stream-replicas must be between 1 and 5")]
    [InlineData("--node-ttl-ms", "1500", "--node-ttl-ms (1500) must be at least twice --heartbeat-ms (1000)")]
    [InlineData("--advertise-address", "10.0.0.7:50051", "advertise-address must be an http:// or https:// URL")]
    [InlineData("--hedge-after-ms", "-1", "hedge-after-ms must be between 0")]
    public void ABadClusterSettingIsNamed(string option, string value, string message)
    {
        var e = Assert.Throws<ServerConfigurationException>(() =>
            ReadClusterOptions(["--cluster-nats", "nats://127.0.0.1:4222", option, value], NoEnvironment));
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void AClusterNatsValueThatIsNotAUrlIsNamed()
    {
        var e = Assert.Throws<ServerConfigurationException>(() => ReadClusterOptions(["--cluster-nats", "nats://a:4222,b:4222"], NoEnvironment));
        Assert.Contains("cluster-nats: 'b:4222' is not a NATS URL", e.Message);
    }

    [Fact]
    public void MachineNamesBecomeValidNodeIds()
    {
        Assert.Equal("annserver-0", ClusterNodeId.FromMachineName("annserver-0"));
        Assert.Equal("host-example-com", ClusterNodeId.FromMachineName("host.example.com"));
        Assert.Null(ClusterNodeId.Problem(ClusterNodeId.FromMachineName(new string('x', 100))));
    }

    [Fact]
    public async Task WithoutClusterModeShardsAndClusterCallsAreRefusedAndLocalCollectionsWorkAsBefore()
    {
        using var dataDir = new TempFolder();
        WebApplication app = AnnServerHost.Build(["--host", "127.0.0.1", "--port", "0", "--metrics-port", "0", "--http-port", "0", "--data-dir", dataDir.Path]);
        await app.StartAsync();
        try
        {
            int port = app.Services.GetRequiredService<ServerEndpoints>().GrpcPort;
            using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{port}");
            var collections = new CollectionService.CollectionServiceClient(channel);
            var cluster = new ClusterService.ClusterServiceClient(channel);
            await WaitUntilLoadedAsync(collections);

            var sharded = await Assert.ThrowsAsync<RpcException>(() => collections.CreateCollectionAsync(
                new CreateCollectionRequest { Name = "s", Dimension = 4, Metric = Metric.L2, Shards = 2 }).ResponseAsync);
            Assert.Equal(StatusCode.FailedPrecondition, sharded.StatusCode);
            Assert.Contains("shards (2) need cluster mode (--cluster-nats)", sharded.Status.Detail);

            var replicasAlone = await Assert.ThrowsAsync<RpcException>(() => collections.CreateCollectionAsync(
                new CreateCollectionRequest { Name = "s", Dimension = 4, Metric = Metric.L2, Replicas = 2 }).ResponseAsync);
            Assert.Equal(StatusCode.InvalidArgument, replicasAlone.StatusCode);

            var state = await Assert.ThrowsAsync<RpcException>(() => cluster.GetClusterStateAsync(new GetClusterStateRequest()).ResponseAsync);
            Assert.Equal(StatusCode.FailedPrecondition, state.StatusCode);
            Assert.Contains("--cluster-nats", state.Status.Detail);

            var local = await collections.CreateCollectionAsync(new CreateCollectionRequest { Name = "local", Dimension = 4, Metric = Metric.L2 });
            Assert.Equal(0u, local.Info.Shards);
            Assert.Equal(["local"], (await collections.ListCollectionsAsync(new ListCollectionsRequest())).Collections.Select(c => c.Name));
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    private static async Task WaitUntilLoadedAsync(CollectionService.CollectionServiceClient collections)
    {
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                await collections.ListCollectionsAsync(new ListCollectionsRequest());
                return;
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.Unavailable && attempt < 200)
            {
                await Task.Delay(50);
            }
        }
    }
}
