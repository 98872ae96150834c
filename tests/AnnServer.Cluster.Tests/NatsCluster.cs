using System.Globalization;
using System.Text;
using System.Text.Json;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Net;

namespace AnnServer.Cluster.Tests;

/// <summary>
/// Three (or <c>count</c>) <c>nats-server</c> processes clustered on loopback with JetStream, each with its own free
/// ports and store folder. A server can be SIGKILLed and restarted by index: it comes back on the same ports with the
/// same store, as a crashed pod would. It can also be frozen (SIGSTOP) and thawed (SIGCONT). Everything is killed and
/// deleted on dispose (and at test-host exit; SIGKILL ends a frozen process too).
/// <para>The binary: $NATS_SERVER, else nats-server on PATH, else /usr/sbin/nats-server (Debian package nats-server).</para>
/// </summary>
public sealed class NatsCluster : IAsyncDisposable
{
    private readonly TempFolder _folder = new("annserver-nats-");
    private readonly Server[] _servers;

    private sealed class Server(int index, int clientPort, int clusterPort, int monitorPort, string configPath)
    {
        public int Index { get; } = index;
        public int ClientPort { get; } = clientPort;
        public int ClusterPort { get; } = clusterPort;
        public int MonitorPort { get; } = monitorPort;
        public string ConfigPath { get; } = configPath;
        public ChildProcess? Process { get; set; }
        public bool Frozen { get; set; }
    }

    private NatsCluster(int count)
    {
        int[] ports = FreePorts.Take(3 * count);
        _servers = new Server[count];
        for (int i = 0; i < count; i++)
            _servers[i] = new Server(i, ports[3 * i], ports[3 * i + 1], ports[3 * i + 2], Path.Combine(_folder.Path, $"n{i}.conf"));
        foreach (Server server in _servers)
            File.WriteAllText(server.ConfigPath, Config(server));
    }

    /// <summary>Number of servers.</summary>
    public int Count => _servers.Length;

    /// <summary>Client URL of server <paramref name="index"/>, e.g. nats://127.0.0.1:41234.</summary>
    public string Url(int index) => $"nats://127.0.0.1:{_servers[index].ClientPort}";

    /// <summary>Every client URL, comma-separated, as --cluster-nats takes them.</summary>
    public string Urls => string.Join(',', _servers.Select(s => Url(s.Index)));

    /// <summary>The server_name of server <paramref name="index"/> (what stream info calls a leader or replica).</summary>
    public static string ServerName(int index) => $"n{index}";

    /// <summary>Index of the server named <paramref name="serverName"/>.</summary>
    public static int IndexOf(string serverName) => int.Parse(serverName.AsSpan(1), CultureInfo.InvariantCulture);

    public bool IsRunning(int index) => _servers[index].Process is { HasExited: false };

    public bool IsFrozen(int index) => _servers[index].Frozen && IsRunning(index);

    /// <summary>The last lines of every server's log, for failure messages.</summary>
    public string Output => string.Join('\n', _servers.Select(s => $"--- nats n{s.Index} (last lines) ---\n{s.Process?.Tail(15)}"));

    /// <summary>Starts <paramref name="count"/> servers and returns once JetStream has a meta leader and every server
    /// answers /healthz.</summary>
    public static async Task<NatsCluster> StartAsync(int count = 3, TimeSpan? timeout = null)
    {
        var cluster = new NatsCluster(count);
        try
        {
            for (int i = 0; i < count; i++) cluster.StartServer(i);
            await cluster.WaitUntilReadyAsync(timeout ?? TimeSpan.FromSeconds(30));
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>A client connected to every server (it fails over when one dies).</summary>
    public NatsClient Connect(string name = "cluster-tests") => new(new NatsOpts
    {
        Url = Urls,
        Name = name,
        ReconnectWaitMin = TimeSpan.FromMilliseconds(100),
        ReconnectWaitMax = TimeSpan.FromMilliseconds(500),
    });

    /// <summary>SIGKILL server <paramref name="index"/> (its store stays for a restart).</summary>
    public async Task KillAsync(int index)
    {
        if (_servers[index].Process is { } process)
        {
            _servers[index].Frozen = false;
            await process.KillAsync();
            process.Dispose();
            _servers[index].Process = null;
        }
    }

    /// <summary>SIGSTOP server <paramref name="index"/>: its sockets stay open and its port keeps accepting connections
    /// (the kernel does the handshake), but nothing is read or answered: a hung process, a paused VM, a partition that
    /// drops packets. Pair with <see cref="Thaw"/> in a finally.</summary>
    public void Freeze(int index)
    {
        Server server = _servers[index];
        (server.Process ?? throw new InvalidOperationException($"nats-server n{index} is not running")).Pause();
        server.Frozen = true;
    }

    /// <summary>SIGCONT after <see cref="Freeze"/> (nothing when it is not frozen).</summary>
    public void Thaw(int index)
    {
        Server server = _servers[index];
        if (!server.Frozen) return;
        if (server.Process is { HasExited: false } process) process.Resume();
        server.Frozen = false;
    }

    /// <summary>Waits for server <paramref name="index"/>'s /healthz (JetStream current with the cluster), e.g. after a
    /// thaw.</summary>
    public Task WaitUntilHealthyAsync(int index, TimeSpan timeout) => WaitUntilHealthyAsync(index, DateTime.UtcNow + timeout);

    /// <summary>The names of the clients connected to server <paramref name="index"/> (its /connz).</summary>
    public async Task<IReadOnlyList<string>> ClientNamesAsync(int index)
    {
        using JsonDocument connz = JsonDocument.Parse(await Http.GetStringAsync($"http://127.0.0.1:{_servers[index].MonitorPort}/connz?limit=4096"));
        return connz.RootElement.TryGetProperty("connections", out JsonElement connections) && connections.ValueKind == JsonValueKind.Array
            ? [.. connections.EnumerateArray().Select(c => c.TryGetProperty("name", out JsonElement name) ? name.GetString() ?? "" : "")]
            : [];
    }

    /// <summary>Starts server <paramref name="index"/> again on its ports and store, and waits for its /healthz
    /// (JetStream current with the cluster).</summary>
    public async Task RestartAsync(int index, TimeSpan? timeout = null)
    {
        await KillAsync(index);
        StartServer(index);
        await WaitUntilHealthyAsync(index, DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30)));
    }

    private void StartServer(int index)
    {
        Server server = _servers[index];
        server.Process = ChildProcess.Start($"nats n{index}", Binary, ["-c", server.ConfigPath]);
    }

    private string Config(Server server)
    {
        string store = _folder.Sub($"n{server.Index}-store").Replace("\\", "/");
        IEnumerable<string> routes = _servers.Where(s => s.Index != server.Index).Select(s => $"\"nats-route://127.0.0.1:{s.ClusterPort}\"");
        var text = new StringBuilder();
        text.AppendLine($"server_name: \"n{server.Index}\"");
        text.AppendLine($"listen: \"127.0.0.1:{server.ClientPort}\"");
        text.AppendLine($"http: \"127.0.0.1:{server.MonitorPort}\"");
        // As docs/cluster.md recommends: the servers give up a hung peer's route (and a hung client) after 2 to 3 s,
        // as the nodes' client does (its default, 2 min, kept placing new consumers on a frozen server for minutes).
        text.AppendLine("ping_interval: \"1s\"");
        text.AppendLine("ping_max: 2");
        text.AppendLine("jetstream {");
        text.AppendLine($"  store_dir: \"{store}\"");
        text.AppendLine("  max_memory_store: 256MB");
        text.AppendLine("  max_file_store: 4GB");
        text.AppendLine("}");
        text.AppendLine("cluster {");
        text.AppendLine("  name: \"ann-tests\"");
        text.AppendLine($"  listen: \"127.0.0.1:{server.ClusterPort}\"");
        text.AppendLine($"  routes: [{string.Join(", ", routes)}]");
        text.AppendLine("}");
        return text.ToString();
    }

    private async Task WaitUntilReadyAsync(TimeSpan timeout)
    {
        DateTime deadline = DateTime.UtcNow + timeout;
        foreach (Server server in _servers)
            await WaitUntilHealthyAsync(server.Index, deadline);

        // /healthz is ok before the meta group has a leader on some versions: ask JetStream itself.
        await using NatsClient client = Connect("cluster-tests-ready");
        INatsJSContext js = client.CreateJetStreamContext();
        while (true)
        {
            try
            {
                await js.GetAccountInfoAsync(new CancellationTokenSource(TimeSpan.FromSeconds(2)).Token);
                return;
            }
            catch (Exception e) when (e is NatsException or OperationCanceledException or TimeoutException)
            {
                if (DateTime.UtcNow > deadline)
                    throw new TimeoutException($"JetStream had no meta leader within {timeout.TotalSeconds} s: {e.Message}\n{Output}");
                await Task.Delay(100);
            }
        }
    }

    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(2) };

    private async Task WaitUntilHealthyAsync(int index, DateTime deadline)
    {
        Server server = _servers[index];
        string url = $"http://127.0.0.1:{server.MonitorPort}/healthz";
        string last = "no answer";
        while (true)
        {
            if (server.Process is null or { HasExited: true })
                throw new InvalidOperationException($"nats-server n{index} exited:\n{server.Process?.Output}");
            try
            {
                using HttpResponseMessage response = await Http.GetAsync(url);
                last = $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}";
                if (response.IsSuccessStatusCode) return;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                last = e.Message;
            }
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"nats-server n{index} not healthy in time ({last}):\n{server.Process.Output}");
            await Task.Delay(100);
        }
    }

    private static string Binary
    {
        get
        {
            if (Environment.GetEnvironmentVariable("NATS_SERVER") is { Length: > 0 } configured) return configured;
            foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator))
                if (dir.Length > 0 && File.Exists(Path.Combine(dir, "nats-server"))) return Path.Combine(dir, "nats-server");
            if (File.Exists("/usr/sbin/nats-server")) return "/usr/sbin/nats-server";
            throw new InvalidOperationException("nats-server not found: install the Debian package nats-server (apt-get install nats-server) or set NATS_SERVER");
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (Server server in _servers)
            await KillAsync(server.Index);
        _folder.Dispose();
    }
}
