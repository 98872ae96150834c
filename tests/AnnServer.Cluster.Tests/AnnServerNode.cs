using AnnServer.Protocol.Internal.V1;
using AnnServer.Protocol.V1;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using ServingStatus = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace AnnServer.Cluster.Tests;

/// <summary>
/// One real AnnServer node: <c>dotnet annserver.dll</c> as a child process on loopback with its own data folder and
/// ports chosen once, so that a restart keeps its address (what other nodes have in the cluster state). It can be
/// SIGKILLed (no shutdown work at all, as a crash) and restarted on the same data. Cluster settings:
/// <c>--cluster-nats</c>, <c>--node-id</c>, <c>--advertise-address</c>, plus whatever the test adds.
/// <para>annserver.dll: $ANNSERVER_DLL, else beside the test assembly (the ProjectReference copies it), else the
/// host project's output in the artifacts layout or the classic bin/ layout.</para>
/// </summary>
public sealed class AnnServerNode : IAsyncDisposable
{
    private readonly TempFolder _dataDir = new("annserver-node-");
    private readonly string[] _arguments;
    private ChildProcess? _process;

    /// <param name="nodeId">--node-id.</param>
    /// <param name="natsUrls">--cluster-nats (comma-separated URLs); null for a node outside cluster mode.</param>
    /// <param name="extraArguments">more options, e.g. --heartbeat-ms 250.</param>
    public AnnServerNode(string nodeId, string? natsUrls, params string[] extraArguments)
    {
        NodeId = nodeId;
        int[] ports = FreePorts.Take(2);
        Port = ports[0];
        MetricsPort = ports[1];
        Address = $"http://127.0.0.1:{Port}";
        var arguments = new List<string>
        {
            "--host", "127.0.0.1", "--port", Port.ToString(), "--metrics-port", MetricsPort.ToString(), "--http-port", "-1", "--data-dir", _dataDir.Path,
        };
        if (natsUrls is not null)
            arguments.AddRange(["--cluster-nats", natsUrls, "--node-id", nodeId, "--advertise-address", Address]);
        arguments.AddRange(extraArguments);
        _arguments = [.. arguments];

        Channel = GrpcChannel.ForAddress(Address, new GrpcChannelOptions { MaxReceiveMessageSize = null, MaxSendMessageSize = null });
        Vectors = new VectorService.VectorServiceClient(Channel);
        Collections = new CollectionService.CollectionServiceClient(Channel);
        Cluster = new ClusterService.ClusterServiceClient(Channel);
        Shards = new ShardService.ShardServiceClient(Channel);
        Health = new Health.HealthClient(Channel);
    }

    public string NodeId { get; }
    public int Port { get; }
    public int MetricsPort { get; }

    /// <summary>The gRPC address, also given as --advertise-address: http://127.0.0.1:port.</summary>
    public string Address { get; }

    public string DataDir => _dataDir.Path;
    public GrpcChannel Channel { get; }
    public VectorService.VectorServiceClient Vectors { get; }
    public CollectionService.CollectionServiceClient Collections { get; }
    public ClusterService.ClusterServiceClient Cluster { get; }
    public ShardService.ShardServiceClient Shards { get; }
    public Health.HealthClient Health { get; }

    public bool IsRunning => _process is { HasExited: false };

    /// <summary>The last lines the node logged (the current process only), for failure messages.</summary>
    public string Output => $"--- annserver {NodeId} ({Address}, last lines) ---\n{_process?.Tail(40)}";

    /// <summary>Everything the current process logged (up to ChildProcess's line cap), for tests that look for a line.</summary>
    public string FullOutput => _process?.Output ?? "";

    /// <summary>Starts the process; with <paramref name="waitUntilServing"/>, returns once grpc.health.v1 says SERVING
    /// (in cluster mode: every replica this node holds has caught up).</summary>
    public async Task StartAsync(bool waitUntilServing = true, TimeSpan? timeout = null)
    {
        if (IsRunning) throw new InvalidOperationException($"node {NodeId} is running already");
        _process?.Dispose();
        _process = ChildProcess.Start($"annserver {NodeId}", Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet",
            [ServerDll, .. _arguments], new Dictionary<string, string>
            {
                // Plain console lines, no colours: failure messages include them.
                ["Logging__Console__FormatterName"] = "simple",
                ["Logging__Console__FormatterOptions__ColorBehavior"] = "Disabled",
                ["Logging__Console__FormatterOptions__SingleLine"] = "true",
                ["Logging__Console__FormatterOptions__TimestampFormat"] = "HH:mm:ss.fff ",
            });
        if (waitUntilServing)
            await WaitUntilServingAsync(timeout ?? TimeSpan.FromSeconds(60));
    }

    /// <summary>SIGKILL and wait until the process is gone. The data folder stays.</summary>
    public async Task KillAsync()
    {
        if (_process is not null) await _process.KillAsync();
    }

    /// <summary>SIGTERM and wait until the process is gone (SIGKILL after 15 s): a clean stop, in which the node withdraws
    /// its entry from the cluster state. The data folder stays.</summary>
    public async Task StopAsync()
    {
        if (_process is not null) await _process.StopAsync(TimeSpan.FromSeconds(15));
    }

    /// <summary>SIGSTOP: frozen, sockets open (see <see cref="ChildProcess.Pause"/>).</summary>
    public void Pause() => (_process ?? throw new InvalidOperationException($"node {NodeId} is not running")).Pause();

    /// <summary>SIGCONT after <see cref="Pause"/>.</summary>
    public void Resume() => (_process ?? throw new InvalidOperationException($"node {NodeId} is not running")).Resume();

    /// <summary>SIGKILL (if running), then start again on the same ports and data.</summary>
    public async Task RestartAsync(bool waitUntilServing = true, TimeSpan? timeout = null)
    {
        await KillAsync();
        await StartAsync(waitUntilServing, timeout);
    }

    public async Task WaitUntilServingAsync(TimeSpan timeout)
    {
        DateTime deadline = DateTime.UtcNow + timeout;
        string last = "no answer";
        while (true)
        {
            if (_process is null or { HasExited: true })
                throw new InvalidOperationException($"node {NodeId} exited (code {(_process is null ? "-" : _process.ExitCode)}) before serving:\n{Output}");
            try
            {
                HealthCheckResponse response = await Health.CheckAsync(new HealthCheckRequest(), deadline: DateTime.UtcNow.AddSeconds(2));
                if (response.Status == ServingStatus.Serving) return;
                last = response.Status.ToString();
            }
            catch (RpcException e)
            {
                last = $"{e.StatusCode} {e.Status.Detail}";
            }
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"node {NodeId} was not SERVING within {timeout.TotalSeconds} s (last: {last}):\n{Output}");
            await Task.Delay(50);
        }
    }

    private static string? _serverDll;

    /// <summary>Path of the annserver.dll to run.</summary>
    public static string ServerDll => _serverDll ??= FindServerDll();

    private static string FindServerDll()
    {
        if (Environment.GetEnvironmentVariable("ANNSERVER_DLL") is { Length: > 0 } configured)
            return File.Exists(configured) ? configured : throw new FileNotFoundException($"ANNSERVER_DLL={configured} does not exist");
        string here = AppContext.BaseDirectory;
        var candidates = new List<string> { Path.Combine(here, "annserver.dll") };
        // Artifacts layout: <artifacts>/bin/AnnServer.Cluster.Tests/<config>/ → <artifacts>/bin/AnnServer/<config>/
        DirectoryInfo testDir = new(here.TrimEnd(Path.DirectorySeparatorChar));
        if (testDir.Parent?.Parent is { } bin)
            candidates.Add(Path.Combine(bin.FullName, "AnnServer", testDir.Name, "annserver.dll"));
        // Classic layout: find the repository root and look in src/AnnServer/bin.
        for (DirectoryInfo? dir = testDir; dir is not null; dir = dir.Parent)
        {
            if (!File.Exists(Path.Combine(dir.FullName, "AnnServer.sln"))) continue;
            string hostBin = Path.Combine(dir.FullName, "src", "AnnServer", "bin");
            if (Directory.Exists(hostBin))
                candidates.AddRange(Directory.EnumerateFiles(hostBin, "annserver.dll", SearchOption.AllDirectories));
            break;
        }
        return candidates.FirstOrDefault(File.Exists)
            ?? throw new FileNotFoundException($"annserver.dll not found (looked in: {string.Join(", ", candidates)}); build src/AnnServer or set ANNSERVER_DLL");
    }

    public async ValueTask DisposeAsync()
    {
        Channel.Dispose();
        await KillAsync();
        _process?.Dispose();
        _dataDir.Dispose();
    }
}
