using System.Collections;
using AnnServer.Cluster;
using AnnServer.Hosting;
using AnnServer.Settings;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace AnnServer.Tests;

/// <summary>The settings as a contract: their names, variables and defaults, and how the three sources combine.</summary>
public sealed class SettingsTests
{
    /// <summary>Every option, its environment variable and its default, as --help printed them before the settings were
    /// split by concern. Deployments use these names: change one only with a note for operators.</summary>
    public static TheoryData<string, string, string> FrozenSettings => new()
    {
        { "--host", "ANNSERVER_HOST", "127.0.0.1" },
        { "--port", "ANNSERVER_PORT", "50051" },
        { "--metrics-port", "ANNSERVER_METRICS_PORT", "9090" },
        { "--http-port", "ANNSERVER_HTTP_PORT", "8080" },
        { "--search-threads", "ANNSERVER_SEARCH_THREADS", "0" },
        { "--data-dir", "ANNSERVER_DATA_DIR", "./data" },
        { "--import-dir", "ANNSERVER_IMPORT_DIR", "none" },
        { "--durability", "ANNSERVER_DURABILITY", "strict" },
        { "--relaxed-commit-ms", "ANNSERVER_RELAXED_COMMIT_MS", "10" },
        { "--checkpoint-log-bytes", "ANNSERVER_CHECKPOINT_LOG_BYTES", "268435456" },
        { "--checkpoint-records", "ANNSERVER_CHECKPOINT_RECORDS", "100000" },
        { "--compact-deleted-fraction", "ANNSERVER_COMPACT_DELETED_FRACTION", "0.3" },
        { "--compaction-threads", "ANNSERVER_COMPACTION_THREADS", Math.Max(1, Environment.ProcessorCount / 2).ToString() },
        { "--map-snapshots", "ANNSERVER_MAP_SNAPSHOTS", "false" },
        { "--accept-log-loss", "ANNSERVER_ACCEPT_LOG_LOSS", "false" },
        { "--background-replay-points", "ANNSERVER_BACKGROUND_REPLAY_POINTS", "10000" },
        { "--max-k", "ANNSERVER_MAX_K", "1000" },
        { "--max-ef", "ANNSERVER_MAX_EF", "4096" },
        { "--default-ef", "ANNSERVER_DEFAULT_EF", "64" },
        { "--max-batch-queries", "ANNSERVER_MAX_BATCH_QUERIES", "1024" },
        { "--max-get-ids", "ANNSERVER_MAX_GET_IDS", "10000" },
        { "--max-payload-bytes", "ANNSERVER_MAX_PAYLOAD_BYTES", "65536" },
        { "--max-message-bytes", "ANNSERVER_MAX_MESSAGE_BYTES", "67108864" },
        { "--tls-cert", "ANNSERVER_TLS_CERT", "none" },
        { "--tls-key", "ANNSERVER_TLS_KEY", "none" },
        { "--tls-client-ca", "ANNSERVER_TLS_CLIENT_CA", "none" },
        { "--api-keys-file", "ANNSERVER_API_KEYS_FILE", "none" },
        { "--api-keys", "ANNSERVER_API_KEYS", "none" },
        { "--insecure", "ANNSERVER_INSECURE", "false" },
        { "--max-collections", "ANNSERVER_MAX_COLLECTIONS", "256" },
        { "--max-points-per-collection", "ANNSERVER_MAX_POINTS_PER_COLLECTION", "0" },
        { "--memory-budget-bytes", "ANNSERVER_MEMORY_BUDGET_BYTES", "0" },
        { "--max-concurrent-searches", "ANNSERVER_MAX_CONCURRENT_SEARCHES", (2 * Environment.ProcessorCount).ToString() },
        { "--max-queued-searches", "ANNSERVER_MAX_QUEUED_SEARCHES", (8 * Environment.ProcessorCount).ToString() },
        { "--otlp-endpoint", "ANNSERVER_OTLP_ENDPOINT", "none" },
        { "--trace-sample-ratio", "ANNSERVER_TRACE_SAMPLE_RATIO", "1" },
        { "--trace-service-name", "ANNSERVER_TRACE_SERVICE_NAME", "annserver" },
        { "--max-stream-in-flight", "ANNSERVER_MAX_STREAM_IN_FLIGHT", "0" },
        { "--max-stream-messages", "ANNSERVER_MAX_STREAM_MESSAGES", (4 * Environment.ProcessorCount).ToString() },
        { "--max-search-streams", "ANNSERVER_MAX_SEARCH_STREAMS", (16 * Environment.ProcessorCount).ToString() },
        { "--max-id-sets", "ANNSERVER_MAX_ID_SETS", "1024" },
        { "--max-id-set-bytes", "ANNSERVER_MAX_ID_SET_BYTES", "268435456" },
        { "--max-ids-per-set", "ANNSERVER_MAX_IDS_PER_SET", "1000000" },
        { "--cluster-nats", "ANNSERVER_CLUSTER_NATS", "none" },
        { "--node-id", "ANNSERVER_NODE_ID", Cluster.State.ClusterNodeId.FromMachineName(Environment.MachineName) },
        { "--advertise-address", "ANNSERVER_ADVERTISE_ADDRESS", "none" },
        { "--cluster-role", "ANNSERVER_CLUSTER_ROLE", "all" },
        { "--stream-replicas", "ANNSERVER_STREAM_REPLICAS", "3" },
        { "--heartbeat-ms", "ANNSERVER_HEARTBEAT_MS", "1000" },
        { "--node-ttl-ms", "ANNSERVER_NODE_TTL_MS", "5000" },
        { "--cluster-api-key", "ANNSERVER_CLUSTER_API_KEY", "none" },
        { "--hedge-after-ms", "ANNSERVER_HEDGE_AFTER_MS", "0" },
        { "--stream-trim-interval-ms", "ANNSERVER_STREAM_TRIM_INTERVAL_MS", "60000" },
    };

    [Theory]
    [MemberData(nameof(FrozenSettings))]
    public void EverySettingKeepsItsNameVariableAndDefaultInTheHelp(string option, string variable, string defaultText)
    {
        string[] lines = ServerCommandLine.HelpText().Split('\n');
        int at = Array.FindIndex(lines, line => line.StartsWith($"  {option} ", StringComparison.Ordinal));

        Assert.True(at >= 0, $"--help has no line for {option}");
        Assert.Equal($"({variable}; {defaultText})", lines[at + 1].Trim());
    }

    [Fact]
    public void TheHelpListsNoSettingBeyondTheFrozenOnesAndTheSnapshots()
    {
        var frozen = FrozenSettings.Select(row => (string)row[0]).ToHashSet();

        Assert.Equal(frozen.Count, ServerSettings.All.Count);
        Assert.All(ServerSettings.All, setting => Assert.Contains(setting.OptionName, frozen));
        Assert.Contains("--snapshot NAME=PATH", ServerCommandLine.HelpText());
        Assert.Contains("ANNSERVER_SNAPSHOTS=", ServerCommandLine.HelpText());
    }

    /// <summary>Each setting, given the same value each of the three ways, reaches the same property of its options class.</summary>
    [Fact]
    public void EverySettingIsReadTheSameFromTheCommandLineTheEnvironmentAndAppSettings()
    {
        foreach (Setting setting in ServerSettings.All)
        {
            var property = setting.OptionsType.GetProperty(setting.Key)!;
            string value = property.PropertyType switch
            {
                var t when t == typeof(bool) => "true",
                var t when t == typeof(double) => "0.5",
                var t when t.IsEnum => Enum.GetNames(t)[^1].ToLowerInvariant(),
                var t when t == typeof(string) => "given",
                _ => "7",
            };
            IConfiguration json = new ConfigurationBuilder()
                .AddInMemoryCollection(new Dictionary<string, string?> { [$"AnnServer:{setting.Key}"] = value }).Build();

            object? fromCommandLine = Bound(setting, ServerSettings.Read([setting.OptionName, value], null, new Hashtable()).Configuration);
            object? fromEnvironment = Bound(setting, ServerSettings.Read([], null, new Hashtable { [setting.EnvironmentVariable] = value }).Configuration);
            object? fromAppSettings = Bound(setting, ServerSettings.Read([], json, new Hashtable()).Configuration);

            Assert.Equal(value, Text(fromCommandLine), ignoreCase: true);
            Assert.Equal(fromCommandLine, fromEnvironment);
            Assert.Equal(fromCommandLine, fromAppSettings);
        }

        static object? Bound(Setting setting, IConfiguration configuration) => setting.OptionsType.GetProperty(setting.Key)!
            .GetValue(configuration.GetSection(ServerSettings.Section).Get(setting.OptionsType));

        static string? Text(object? value) => value is IFormattable number
            ? number.ToString(null, System.Globalization.CultureInfo.InvariantCulture)
            : value?.ToString();
    }

    [Fact]
    public void AMalformedValueIsNamedWithWhereItCameFrom()
    {
        IConfiguration json = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["AnnServer:MaxK"] = "many" }).Build();

        var fromEnvironment = Assert.Throws<ServerConfigurationException>(
            () => ServerSettings.Read([], null, new Hashtable { ["ANNSERVER_PORT"] = "x" }));
        var fromAppSettings = Assert.Throws<ServerConfigurationException>(() => ServerSettings.Read([], json, new Hashtable()));
        var fromCommandLine = Assert.Throws<ServerConfigurationException>(() => ServerSettings.Read(["--cluster-role", "leader"], null, new Hashtable()));

        Assert.Equal("ANNSERVER_PORT: expected an integer, got 'x'", fromEnvironment.Message);
        Assert.Equal("appsettings.json AnnServer:MaxK: expected an integer, got 'many'", fromAppSettings.Message);
        Assert.Equal("--cluster-role: expected all, replica or router, got 'leader'", fromCommandLine.Message);
    }

    [Fact]
    public void AnOptionGivenTwiceTakesItsLastValue()
    {
        using var settings = ReadSettings.From(["--port", "1111", "--max-k", "5", "--port=2222"]);

        Assert.Equal(2222, settings.Get<ServerOptions>().Port);
        Assert.Equal(5, settings.Get<LimitOptions>().MaxK);
    }

    [Fact]
    public void ACollectionGivenTwiceWithSnapshotIsRefused()
    {
        var e = Assert.Throws<ServerConfigurationException>(() => ReadSettings.From(["--snapshot", "a=/x.snap", "--snapshot", "a=/y.snap"]));
        Assert.Equal("--snapshot: collection 'a' is given twice", e.Message);
    }

    [Fact]
    public void EveryBadSettingIsNamedInOneLine()
    {
        var e = Assert.Throws<ServerConfigurationException>(() =>
            ReadSettings.From(["--port", "70000", "--max-k", "0", "--durability", "relaxed", "--relaxed-commit-ms", "0"]));

        Assert.Equal("--port must be between 0 and 65535, got 70000; --max-k must be at least 1, got 0; " +
                     "--relaxed-commit-ms must be between 1 and 10000, got 0", e.Message);
    }

    [Fact]
    public void OutsideClusterModeTheClusterSettingsAreNotChecked()
    {
        using var settings = ReadSettings.From(["--node-id", "not.an.id", "--stream-replicas", "9"]);
        Assert.False(settings.Get<ClusterOptions>().ClusterMode);
    }

    /// <summary>ValidateOnStart: a host with the settings registered does not start with a bad one, however it was built.</summary>
    [Fact]
    public async Task AHostWithTheSettingsRefusesToStartWithABadOne()
    {
        var (_, configuration) = ServerSettings.Read(["--max-batch-queries", "0"], null, new Hashtable());
        HostApplicationBuilder builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddServerSettings(configuration);
        using IHost host = builder.Build();

        var e = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        Assert.Equal("--max-batch-queries must be at least 1, got 0", e.Message);
    }
}
