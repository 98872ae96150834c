using System.Net;
using System.Net.Sockets;
using AnnServer.Cluster;
using AnnServer.Collections;
using AnnServer.Diagnostics;
using AnnServer.Limits;
using AnnServer.Protocol.V1;
using AnnServer.Security;
using AnnServer.Services;
using AnnServer.Settings;
using Grpc.AspNetCore.Server;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using NATS.Client.Core;
using OpenTelemetry.Trace;
using Prometheus;

namespace AnnServer.Hosting;

/// <summary>
/// Builds and runs the server. <see cref="Build(string[])"/> returns an unstarted <see cref="WebApplication"/>, so tests
/// start the real server in their own process (ports 0 = free ports; read them from <see cref="ServerEndpoints"/>).
/// <para>
/// Three Kestrel endpoints: gRPC on --port (HTTP/2 only: plain h2c, or TLS when a certificate is configured),
/// Prometheus /metrics plus an HTTP /healthz on --metrics-port (HTTP/1.1 only), and JSON over HTTP on --http-port
/// (HTTP/1.1, TLS like the gRPC port; <see cref="JsonHttpApi"/>). The metrics branch is taken by the port a request came
/// in on, so it cannot be reached from the other ports, nor the API from the metrics port.
/// </para>
/// </summary>
public static class AnnServerHost
{
    /// <summary>The grpc.health.v1 service name of the liveness status (Kubernetes: <c>grpc: {port, service: liveness}</c>).</summary>
    public const string LivenessServiceName = "liveness";

    private const string AliveCheckName = "alive";

    /// <summary>The process entry point: serve, answer --help, or run the healthcheck probe. Returns the exit code:
    /// 0, 1 (failed at run time), 2 (bad settings).</summary>
    public static async Task<int> RunAsync(string[] args)
    {
        if (ApiKeyCommands.TryRun(args, Console.In, Console.Out, Console.Error) is int keyCommandExit)
            return keyCommandExit;

        ServerMode mode;
        IConfiguration settings;
        try
        {
            (mode, settings) = ServerSettings.Read(args, ReadAppSettings());
        }
        catch (ServerConfigurationException e)
        {
            return BadSettings(e);
        }

        switch (mode)
        {
            case ServerMode.Help:
                Console.Write(ServerCommandLine.HelpText());
                return 0;
            case ServerMode.HealthCheck:
                ServiceProvider probe;
                try
                {
                    probe = ServerSettingsRegistration.Check(settings);
                }
                catch (ServerConfigurationException e)
                {
                    return BadSettings(e);
                }
                await using (probe)
                {
                    return await HealthCheckCommand.RunAsync(probe.GetRequiredService<ServerOptions>(),
                        probe.GetRequiredService<SecurityOptions>(), Console.Out, TimeSpan.FromSeconds(3));
                }
            default:
                WebApplication app;
                try
                {
                    app = Build(settings);
                }
                catch (ServerConfigurationException e)
                {
                    return BadSettings(e);
                }
                await using (app)
                {
                    CollectionLifecycleService lifecycle = app.Services.GetRequiredService<CollectionLifecycleService>();
                    ServerOptions server = app.Services.GetRequiredService<ServerOptions>();
                    try
                    {
                        await app.StartAsync();
                        await app.WaitForShutdownAsync();
                    }
                    catch (OperationCanceledException) when (lifecycle.LoadFailure is not null)
                    {
                        // A collection failed to load while the host was still starting; the reason is logged already.
                    }
                    catch (Exception e) when (!app.Lifetime.ApplicationStarted.IsCancellationRequested)
                    {
                        // The start failed: the folder is locked, an address cannot be bound, a setting only the start
                        // checks. One line and an exit code, not a stack trace (the host has logged the exception).
                        (int exitCode, string message) = StartFailure(e, server);
                        Console.Error.WriteLine($"annserver: {message}");
                        return exitCode;
                    }
                    if (lifecycle.LoadFailure is not null)
                    {
                        Console.Error.WriteLine($"annserver: {lifecycle.LoadFailure}");
                        return 1;
                    }
                    return 0;
                }
        }
    }

    /// <summary>The exit code and the one line for an exception that ended the start: 2 for a setting that cannot work
    /// on this machine (an address it does not have), 1 for the rest (the folder or a port in use, no permission).</summary>
    private static (int ExitCode, string Message) StartFailure(Exception e, ServerOptions server)
    {
        if (e is AggregateException { InnerExceptions.Count: 1 } single)
            e = single.InnerException!;
        string listening = $"cannot listen on {server.Host} (ports {server.Port}, {server.MetricsPort}"
            + (server.HttpPort == ServerOptions.HttpPortOff ? ")" : $", {server.HttpPort})");
        return e switch
        {
            FolderInUseException inUse => (1, $"the data directory {inUse.Message}: stop that server, or give this one another --data-dir"),
            ServerConfigurationException or OptionsValidationException => (2, e.Message),
            SocketException { SocketErrorCode: SocketError.AddressNotAvailable } socket =>
                (2, $"{listening}: {socket.Message}: --host must be an address of this machine, 'localhost' or '*'"),
            SocketException { SocketErrorCode: SocketError.AddressAlreadyInUse } socket => (1, $"{listening}: {socket.Message}"),
            SocketException socket => (1, $"{listening}: {socket.Message}"),
            IOException => (1, e.Message), // Kestrel: "Failed to bind to address http://...: address already in use."
            _ => (1, $"failed to start: {e.Message}"),
        };
    }

    private static int BadSettings(ServerConfigurationException e)
    {
        Console.Error.WriteLine($"annserver: {e.Message}");
        return 2;
    }

    /// <summary>Reads the settings from appsettings.json, the environment and <paramref name="args"/>, and builds the server.</summary>
    /// <exception cref="ServerConfigurationException">a setting is wrong.</exception>
    public static WebApplication Build(string[] args) => Build(ServerSettings.Read(args, ReadAppSettings()).Configuration);

    /// <summary>As <see cref="Build(string[])"/>, with tracing on and <paramref name="configureTracing"/> given the
    /// tracer (a test adds its in-memory exporter there).</summary>
    internal static WebApplication Build(string[] args, Action<TracerProviderBuilder> configureTracing) =>
        Build(ServerSettings.Read(args, ReadAppSettings()).Configuration, configureTracing);

    /// <summary>Builds the server from settings read by <see cref="ServerSettings.Read"/>. They are checked first, and
    /// again when the host starts (ValidateOnStart), which is what holds for a host built any other way.</summary>
    /// <exception cref="ServerConfigurationException">a setting is wrong.</exception>
    public static WebApplication Build(IConfiguration settings) => Build(settings, configureTracing: null);

    private static WebApplication Build(IConfiguration settings, Action<TracerProviderBuilder>? configureTracing)
    {
        // What is registered depends on these, so they are read before the container exists.
        ClusterOptions cluster;
        TracingOptions tracing;
        using (ServiceProvider checkedSettings = ServerSettingsRegistration.Check(settings))
        {
            cluster = checkedSettings.GetRequiredService<ClusterOptions>();
            tracing = checkedSettings.GetRequiredService<TracingOptions>();
        }
        bool clusterMode = cluster.ClusterMode;
        WebApplicationBuilder builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            // appsettings.json sits beside the binary; the data directory stays relative to the working directory.
            ContentRootPath = AppContext.BaseDirectory,
            Args = [],
        });

        // The health check service logs every Unhealthy result as an error, on each probe and each publish (every 2 s):
        // a long load under readiness probes would flood the log with "fail" lines. Loading is logged once, as progress,
        // by the registry; a probe while it runs just answers not ready.
        builder.Logging.AddFilter("Microsoft.Extensions.Diagnostics.HealthChecks.DefaultHealthCheckService", LogLevel.Critical);

        IServiceCollection services = builder.Services;
        services.AddServerSettings(settings);
        var endpoints = new ServerEndpoints();
        services.AddSingleton(endpoints);
        services.AddOptions<KestrelServerOptions>().Configure<ServerOptions, SecurityOptions, LimitOptions>((kestrel, server, security, limits) =>
        {
            kestrel.AddServerHeader = false;
            // A unary call's body is one message and its 5-byte prefix: Kestrel's default (30,000,000 bytes) would end a
            // larger one within --max-message-bytes with UNKNOWN. MessageSizeMiddleware refuses larger ones first.
            kestrel.Limits.MaxRequestBodySize = (long)limits.MaxMessageBytes + MessageSizeMiddleware.PrefixBytes;
            Listen(kestrel, server.Host, server.Port, listen =>
            {
                listen.Protocols = HttpProtocols.Http2;
                if (security.UseTls)
                    listen.UseHttps(TlsConfiguration.ForGrpcPort(security));
                endpoints.Grpc = listen;
            });
            Listen(kestrel, server.Host, server.MetricsPort, listen =>
            {
                listen.Protocols = HttpProtocols.Http1;
                endpoints.Metrics = listen;
            });
            if (server.HttpPort != ServerOptions.HttpPortOff)
                Listen(kestrel, server.Host, server.HttpPort, listen =>
                {
                    listen.Protocols = HttpProtocols.Http1;
                    if (security.UseTls)
                        listen.UseHttps(TlsConfiguration.ForGrpcPort(security));
                    endpoints.Http = listen;
                });
        });

        services.AddSingleton(provider => new DataDirectory(provider.GetRequiredService<ServerOptions>().DataDir));
        services.AddSingleton(provider => provider.GetRequiredService<PersistenceOptions>().ToDurabilityOptions());
        // The budget measures the registry's collections, and the registry's compactions reserve in the budget when it
        // was given explicitly: the budget resolves the registry only when it measures, after both exist.
        services.AddSingleton(provider => new IdSetPool(provider.GetRequiredService<LimitOptions>().IdSetLimits));
        services.AddSingleton(provider => new CollectionRegistry(
            provider.GetRequiredService<DataDirectory>(), provider.GetRequiredService<ILogger<CollectionRegistry>>(),
            provider.GetRequiredService<DurabilityOptions>(),
            provider.GetRequiredService<LimitOptions>().MemoryBudgetBytes > 0 ? provider.GetRequiredService<MemoryBudget>() : null,
            provider.GetRequiredService<IdSetPool>()));
        services.AddSingleton(provider =>
        {
            ServerOptions server = provider.GetRequiredService<ServerOptions>();
            return new SnapshotLoader(provider.GetRequiredService<CollectionRegistry>(), provider.GetRequiredService<MemoryBudget>(),
                server.ImportDir is { } importDir ? new ImportDirectory(importDir) : null,
                provider.GetRequiredService<LimitOptions>().MaxCollections, provider.GetRequiredService<ILogger<SnapshotLoader>>());
        });
        services.AddSingleton(provider => new LocalCollectionCatalog(
            provider.GetRequiredService<CollectionRegistry>(), provider.GetRequiredService<SnapshotLoader>()));
        services.AddSingleton<ServerMetrics>();
        services.AddSingleton(provider => ApiKeySet.FromOptions(provider.GetRequiredService<SecurityOptions>()));
        services.AddSingleton(provider =>
        {
            LimitOptions limits = provider.GetRequiredService<LimitOptions>();
            return new SearchAdmission(limits.MaxConcurrentSearches, limits.MaxQueuedSearches);
        });
        services.AddSingleton(provider => new MemoryBudget(provider.GetRequiredService<LimitOptions>().EffectiveMemoryBudgetBytes,
            () => MemoryEstimate.HeldBy(provider.GetRequiredService<CollectionRegistry>())));
        services.AddSingleton<CollectionLifecycleService>();
        services.AddHostedService(provider => provider.GetRequiredService<CollectionLifecycleService>());

        // The data plane and the node-to-node reads: a single server's, replaced below in cluster mode. Chosen once here;
        // the gRPC services map onto them and never ask which mode the node runs in.
        services.AddSingleton<ICollectionCatalog>(provider => provider.GetRequiredService<LocalCollectionCatalog>());
        services.AddSingleton<ILocalShards, NoLocalShards>();
        services.AddSingleton<IClusterAdministration, NoClusterAdministration>();
        if (clusterMode)
        {
            AddCluster(services);
            // The NATS client logs every connect at Information; its warnings (reconnects) are what an operator needs.
            builder.Logging.AddFilter("NATS", LogLevel.Warning);
        }

        // Singletons: gRPC would otherwise create a service and each interceptor per call.
        services.AddSingleton(provider => new SearchThreads(provider.GetRequiredService<ServerOptions>().SearchThreads));
        services.AddSingleton<VectorGrpcService>();
        services.AddSingleton<SearchStreams>();
        services.AddSingleton<CollectionGrpcService>();
        services.AddSingleton<ClusterGrpcService>();
        services.AddSingleton<ShardGrpcService>();
        services.AddSingleton<ResourceLimitInterceptor>();
        services.AddSingleton<ServerCallInterceptor>();
        services.AddGrpc().AddJsonHttpApi();
        services.AddOptions<GrpcServiceOptions>().Configure<LimitOptions>((grpc, limits) =>
        {
            grpc.MaxReceiveMessageSize = limits.MaxMessageBytes;
            grpc.MaxSendMessageSize = null;
            // the only one: metrics, error statuses and limits as plain calls inside it (each registered interceptor
            // costs its own async wrapper per call)
            grpc.Interceptors.Add<ServerCallInterceptor>();
        });
        TracingRegistration.AddTracing(services, tracing, cluster, configureTracing);
        services.AddGrpcReflection();
        IHealthChecksBuilder healthChecks = services.AddGrpcHealthChecks(health =>
        {
            // "" (the whole server) is mapped by default; the API's services report the same state.
            health.Services.Map(VectorService.Descriptor.FullName, _ => true);
            health.Services.Map(CollectionService.Descriptor.FullName, _ => true);
            // Liveness, not readiness: SERVING whenever the process answers (only the always-healthy check counts; a
            // service that no check counts stays UNKNOWN), so an orchestrator restarts a server that hangs, never one
            // that is loading snapshots or catching up with a stream.
            health.Services.Map(LivenessServiceName, result => result.Name == AliveCheckName);
        }).AddCheck<CollectionsLoadedHealthCheck>("collections")
          .AddCheck(AliveCheckName, () => HealthCheckResult.Healthy("the process answers"));
        if (clusterMode)
            healthChecks.AddCheck<ClusterReadinessHealthCheck>("cluster");
        // Check runs the health check on each call; Watch streams what the publisher last saw, so publish often.
        services.Configure<HealthCheckPublisherOptions>(publisher =>
        {
            publisher.Delay = TimeSpan.FromMilliseconds(200);
            publisher.Period = TimeSpan.FromSeconds(2);
        });

        WebApplication app = builder.Build();
        app.Lifetime.ApplicationStarted.Register(() => SecuritySummary.Log(
            app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("AnnServer.Security"),
            app.Services.GetRequiredService<ServerOptions>(), app.Services.GetRequiredService<SecurityOptions>(),
            app.Services.GetRequiredService<LimitOptions>(), app.Services.GetRequiredService<ApiKeySet>()));

        app.MapWhen(context => context.Connection.LocalPort == endpoints.MetricsPort,
            metricsPort =>
            {
                metricsPort.UseHealthChecks("/healthz", new Microsoft.AspNetCore.Diagnostics.HealthChecks.HealthCheckOptions { ResponseWriter = HealthReportText.WriteAsync });
                metricsPort.UseMetricServer("/metrics", app.Services.GetRequiredService<ServerMetrics>().Registry);
                metricsPort.Run(context =>
                {
                    context.Response.StatusCode = StatusCodes.Status404NotFound;
                    return context.Response.WriteAsync("annserver metrics port: GET /metrics or /healthz\n");
                });
            });
        app.UseRouting();
        // The gRPC and JSON ports (the metrics port branched off above): the caller's key, then the message's size, are checked
        // before the body is read, so an unknown caller takes no slot and makes the server read nothing.
        if (!app.Services.GetRequiredService<ApiKeySet>().IsEmpty)
            app.UseMiddleware<AuthorizationMiddleware>();
        app.UseMiddleware<MessageSizeMiddleware>();
        app.UseOpenApiDocument();
        app.MapGrpcService<VectorGrpcService>();
        app.MapGrpcService<CollectionGrpcService>();
        app.MapGrpcService<ClusterGrpcService>();
        app.MapGrpcService<ShardGrpcService>();
        app.MapGrpcHealthChecksService();
        app.MapGrpcReflectionService();
        return app;
    }

    /// <summary>Cluster mode (--cluster-nats): one NATS connection for the node, the cluster state and router, the
    /// shard replicas and writer, and the service that registers the node and keeps its replicas matching the shard map.
    /// Nothing of this is registered without --cluster-nats, so a single server runs exactly as before.</summary>
    private static void AddCluster(IServiceCollection services)
    {
        services.AddSingleton<INatsConnection>(provider =>
        {
            ClusterOptions cluster = provider.GetRequiredService<ClusterOptions>();
            return new NatsConnection(new NatsOpts
            {
                Url = cluster.ClusterNats!,
                Name = $"annserver-{cluster.NodeId}",
                LoggerFactory = provider.GetRequiredService<ILoggerFactory>(),
                // Keep reconnecting for as long as the node runs: NATS servers restart and fail over.
                MaxReconnectRetry = -1,
                RetryOnInitialConnect = true,
                // A server that hangs (frozen process, paused VM, a partition that drops packets) closes nothing: only
                // unanswered pings tell. The client's defaults (a ping every 2 min, dead after 2 unanswered) took 4 to
                // 6 min, all the while the writes through this node and the replicas it holds stalled. A ping every
                // second, dead after 2 unanswered, notices it in 2 to 3 s, so that the writer's second or third attempt
                // at a publish lost on the hung server (2 s each: ShardWriter.AttemptTimeout) goes through the new
                // connection. It
                // costs a 6-byte PING and PONG per node per second (one connection per node). A node stalled for 2 s
                // (a long GC) may reconnect needlessly: its publishes are retried, its replicas resume where they were.
                PingInterval = TimeSpan.FromSeconds(1),
                MaxPingOut = 2,
                // After a failed attempt (the next server may be the hung one, or dead too) try the next soon: the
                // client's 2 s minimum added to every outage. Doubling to 2 s keeps a node that finds no server at all
                // to one connection attempt every 2 s.
                ReconnectWaitMin = TimeSpan.FromMilliseconds(100),
                ReconnectWaitMax = TimeSpan.FromSeconds(2),
                // A hung server still completes the TCP handshake (the kernel does it) and then never sends its INFO:
                // the reconnect, which may try it first, gives up on it after this instead of the client's 2 s. A live
                // server in the same network sends its INFO within milliseconds.
                ConnectTimeout = TimeSpan.FromSeconds(1),
            });
        });
        services.AddSingleton<AnnServer.Cluster.State.ClusterIdSetCache>();
        services.AddSingleton<ClusterCoordinator>();
        services.AddSingleton<LocalShards>();
        services.AddSingleton<ILocalShards>(provider => provider.GetRequiredService<LocalShards>());
        services.AddSingleton<ICollectionCatalog, ClusterCollectionCatalog>();
        services.AddSingleton<IClusterAdministration, ClusterAdministration>();
        services.AddSingleton<ShardReplicas>();
        services.AddSingleton<ShardWriter>();
        services.AddSingleton<INodeAddress, NodeGrpcAddress>();
        services.AddSingleton<ClusterNodeService>();
        services.AddHostedService(provider => provider.GetRequiredService<ClusterNodeService>());
        services.AddSingleton<StreamTrimService>();
        services.AddHostedService(provider => provider.GetRequiredService<StreamTrimService>());
    }

    private static void Listen(KestrelServerOptions kestrel, string host, int port, Action<ListenOptions> configure)
    {
        if (host is "*" or "any")
            kestrel.ListenAnyIP(port, configure);
        else if (string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase))
            kestrel.ListenLocalhost(port, configure);
        else if (IPAddress.TryParse(host.Trim('[', ']'), out IPAddress? address))
            // An IPv4-mapped IPv6 address (::ffff:127.0.0.1) is that IPv4 address: an IPv6-only socket cannot bind it.
            kestrel.Listen(address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address, port, configure);
        else
            throw new ServerConfigurationException($"host '{host}' is not an IP address, 'localhost' or '*'");
    }

    private static IConfiguration ReadAppSettings() => new ConfigurationBuilder()
        .SetBasePath(AppContext.BaseDirectory)
        .AddJsonFile("appsettings.json", optional: true)
        .Build();
}
