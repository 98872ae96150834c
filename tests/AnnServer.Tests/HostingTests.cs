using System.Collections;
using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using AnnServer.Collections;
using AnnServer.Core;
using AnnServer.Core.Snapshots;
using AnnServer.Diagnostics;
using AnnServer.Hosting;
using AnnServer.Protocol.V1;
using AnnServer.Settings;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Grpc.Reflection.V1Alpha;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging.Abstractions;
using ServingStatus = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace AnnServer.Tests;

/// <summary>Settings, start-up, health, reflection and metrics.</summary>
public sealed class HostingTests
{
    [Fact]
    public void DefaultsAreTheDocumentedOnes()
    {
        using var settings = ReadSettings.From([]);
        var server = settings.Get<ServerOptions>();
        var limits = settings.Get<LimitOptions>();

        Assert.Equal(ServerMode.Serve, settings.Mode);
        Assert.Equal(("127.0.0.1", 50051, 9090, "./data"), (server.Host, server.Port, server.MetricsPort, server.DataDir));
        Assert.Equal((1000, 4096, 64, 1024), (limits.MaxK, limits.MaxEf, limits.DefaultEf, limits.MaxBatchQueries));
        Assert.Equal(Math.Max(1, Environment.ProcessorCount / 2), settings.Get<PersistenceOptions>().CompactionThreads);
        Assert.False(settings.Get<SecurityOptions>().UseTls);
        Assert.Empty(server.Snapshots);
    }

    [Fact]
    public void TheCommandLineWinsOverTheEnvironmentWhichWinsOverAppSettings()
    {
        IConfiguration json = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["AnnServer:Port"] = "1111", ["AnnServer:MaxK"] = "10", ["AnnServer:DataDir"] = "/from/json",
        }).Build();
        var environment = new Hashtable { ["ANNSERVER_PORT"] = "2222", ["ANNSERVER_MAX_K"] = "20" };

        using var settings = ReadSettings.From(["--port", "3333"], json, environment);

        Assert.Equal(3333, settings.Get<ServerOptions>().Port);
        Assert.Equal(20, settings.Get<LimitOptions>().MaxK);
        Assert.Equal("/from/json", settings.Get<ServerOptions>().DataDir);
    }

    [Fact]
    public void SnapshotsComeFromEverySourceAndTheCommandLineWinsPerName()
    {
        using var files = new TempFolder();
        foreach (string file in new[] { "a.snap", "b.snap", "c.snap" }) File.WriteAllText(files.File(file), "");
        var environment = new Hashtable { ["ANNSERVER_SNAPSHOTS"] = $"a={files.File("a.snap")};b={files.File("a.snap")}" };

        using var settings = ReadSettings.From(
            ["--snapshot", $"b={files.File("b.snap")}", $"--snapshot=c={files.File("c.snap")}"], null, environment);

        Assert.Equal(
            [("a", files.File("a.snap")), ("b", files.File("b.snap")), ("c", files.File("c.snap"))],
            settings.Get<ServerOptions>().Snapshots.Select(s => (s.Key, s.Value)).OrderBy(s => s.Key));
    }

    [Theory]
    [InlineData(new[] { "--bogus", "1" }, "unknown option --bogus")]
    [InlineData(new[] { "--port", "x" }, "--port: expected an integer, got 'x'")]
    [InlineData(new[] { "--port", "70000" }, "port must be between 0 and 65535")]
    [InlineData(new[] { "--max-k" }, "--max-k needs a value")]
    [InlineData(new[] { "--compaction-threads", "0" }, "compaction-threads must be between 1 and the number of cores")]
    [InlineData(new[] { "--compaction-threads", "100000" }, "compaction-threads must be between 1 and the number of cores")]
    [InlineData(new[] { "--max-k", "100", "--max-ef", "50" }, "--max-ef (50) must be at least --max-k (100)")]
    [InlineData(new[] { "--max-ef", "70000" }, "--max-ef must be at most 65536")]
    [InlineData(new[] { "--snapshot", "noequals" }, "--snapshot: expected NAME=PATH")]
    [InlineData(new[] { "--snapshot", "x=/no/such/file.snap" }, "snapshot x=/no/such/file.snap: file not found")]
    [InlineData(new[] { "--snapshot", "bad.name=/x" }, "the collection name 'bad.name' contains '.'")]
    [InlineData(new[] { "--tls-cert", "/x.pem" }, "--tls-cert and --tls-key go together")]
    [InlineData(new[] { "stray" }, "unexpected argument 'stray'")]
    public void BadSettingsAreRejectedWithTheirName(string[] args, string message)
    {
        var e = Assert.Throws<ServerConfigurationException>(() => ReadSettings.From(args));
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void HealthcheckAndHelpAreModesOfTheSameBinary()
    {
        using var healthCheck = ReadSettings.From(["healthcheck", "--port", "1"]);
        using var help = ReadSettings.From(["--help"]);

        Assert.Equal(ServerMode.HealthCheck, healthCheck.Mode);
        Assert.Equal(1, healthCheck.Get<ServerOptions>().Port);
        Assert.Equal(ServerMode.Help, help.Mode);
        Assert.Contains("--max-batch-queries", ServerCommandLine.HelpText());
    }

    [Fact]
    public async Task TheBinaryStartsWithNoArgumentsInAnEmptyFolderAndServes()
    {
        // No arguments at all; only the two ports come from the environment, so that the test does not collide with a
        // server already on 50051/9090 on this machine. Everything else is the defaults: ./data in the working directory.
        using var folder = new TempFolder();
        (int port, int metricsPort) = FreePorts.Two();
        var start = new ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "annserver.dll")])
        {
            WorkingDirectory = folder.Path,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            Environment = { ["ANNSERVER_PORT"] = port.ToString(), ["ANNSERVER_METRICS_PORT"] = metricsPort.ToString(), ["ANNSERVER_HTTP_PORT"] = "0" },
        };
        using Process process = Process.Start(start)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            using GrpcChannel channel = GrpcChannel.ForAddress($"http://127.0.0.1:{port}");
            var health = new Health.HealthClient(channel);
            ServingStatus status = await PollHealthAsync(health, TimeSpan.FromSeconds(30));
            ListCollectionsResponse list = await new CollectionService.CollectionServiceClient(channel).ListCollectionsAsync(new ListCollectionsRequest());

            Assert.Equal(ServingStatus.Serving, status);
            Assert.Empty(list.Collections);
            Assert.True(Directory.Exists(Path.Combine(folder.Path, "data")));
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }

    [Fact]
    public async Task HealthIsNotServingUntilEveryCollectionIsLoaded()
    {
        using var dataDir = new TempFolder();
        var registry = new CollectionRegistry(new DataDirectory(dataDir.Path), NullLogger<CollectionRegistry>.Instance);
        var check = new CollectionsLoadedHealthCheck(registry);

        HealthCheckResult before = await check.CheckHealthAsync(new HealthCheckContext());
        await registry.LoadAsync([], CancellationToken.None);
        HealthCheckResult after = await check.CheckHealthAsync(new HealthCheckContext());

        Assert.Equal(HealthStatus.Unhealthy, before.Status);
        Assert.Contains("0 of 0 loaded", before.Description);
        Assert.Equal(HealthStatus.Healthy, after.Status);
    }

    [Fact]
    public async Task HealthTurnsServingOnceTheSnapshotIsLoaded()
    {
        using var files = new TempFolder();
        using (HnswIndex index = TestData.BuildIndex(3000, 16, DistanceMetric.L2, seed: 2, out _))
            Snapshot.Save(index, files.File("s.snap"));

        await using RunningServer server = await RunningServer.StartAsync(waitUntilLoaded: false, args: ["--snapshot", $"s={files.File("s.snap")}"]);
        // Liveness answers SERVING at once, whatever readiness says: it only asks whether the process answers.
        HealthCheckResponse liveness = await server.Health.CheckAsync(new HealthCheckRequest { Service = AnnServerHost.LivenessServiceName });
        ServingStatus status = await PollHealthAsync(server.Health, TimeSpan.FromSeconds(30));
        HealthCheckResponse api = await server.Health.CheckAsync(new HealthCheckRequest { Service = "ann.v1.VectorService" });
        string healthz = await server.GetMetricsTextAsync("/healthz");

        Assert.Equal(ServingStatus.Serving, liveness.Status);
        Assert.Equal(ServingStatus.Serving, status);
        Assert.Equal(ServingStatus.Serving, api.Status);
        Assert.Equal("Healthy", healthz);
        Assert.True(server.Registry.IsLoaded);
    }

    [Fact]
    public async Task SnapshotsAreReadIntoMemoryUnlessMappingIsAskedForAndAnswerTheSameEitherWay()
    {
        using (var defaults = ReadSettings.From([]))
        using (var mapping = ReadSettings.From(["--map-snapshots"]))
        using (var fromEnvironment = ReadSettings.From([], null, new Hashtable { ["ANNSERVER_MAP_SNAPSHOTS"] = "true" }))
        {
            Assert.True(defaults.Get<PersistenceOptions>().ToDurabilityOptions().SnapshotLoading.ReadIntoMemory);
            Assert.False(mapping.Get<PersistenceOptions>().ToDurabilityOptions().SnapshotLoading.ReadIntoMemory);
            Assert.True(fromEnvironment.Get<PersistenceOptions>().MapSnapshots);
        }

        using var files = new TempFolder();
        using (HnswIndex index = TestData.BuildIndex(3000, 16, DistanceMetric.L2, seed: 4, out _))
            Snapshot.Save(index, files.File("s.snap"));
        await using RunningServer inMemory = await RunningServer.StartAsync(args: ["--snapshot", $"s={files.File("s.snap")}"]);
        await using RunningServer mapped = await RunningServer.StartAsync(args: ["--snapshot", $"s={files.File("s.snap")}", "--map-snapshots"]);
        for (int i = 0; i < 20; i++)
        {
            SearchRequest request = TestData.Search("s", TestData.RandomVectors(1, 16, seed: 50 + i), k: 10, ef: 32);
            SearchResponse fromMemory = await inMemory.Vectors.SearchAsync(request);
            SearchResponse fromMapping = await mapped.Vectors.SearchAsync(request);
            Assert.Equal(10, fromMemory.Hits.Count);
            Assert.Equal(fromMemory.Hits, fromMapping.Hits);
        }
    }

    [Fact]
    public async Task AnUnreadableSnapshotToImportStopsTheServerAndNamesTheFile()
    {
        // A damaged collection in the data directory is quarantined (QuarantineTests); a --snapshot to import that cannot
        // be read is a wrong setting, and stops the server.
        using var dataDir = new TempFolder();
        using var files = new TempFolder();
        File.WriteAllBytes(files.File("broken.snap"), new byte[1000]);
        WebApplication app = AnnServerHost.Build(["--port", "0", "--metrics-port", "0", "--http-port", "0", "--data-dir", dataDir.Path,
            "--snapshot", $"broken={files.File("broken.snap")}"]);
        CollectionLifecycleService lifecycle = app.Services.GetRequiredService<CollectionLifecycleService>();
        CollectionRegistry registry = app.Services.GetRequiredService<CollectionRegistry>();

        try { await app.StartAsync(); } catch (OperationCanceledException) { } // it may fail before the start completes
        await app.WaitForShutdownAsync().WaitAsync(TimeSpan.FromSeconds(30));
        await app.DisposeAsync();

        Assert.Contains(files.File("broken.snap"), lifecycle.LoadFailure);
        Assert.False(registry.IsLoaded);
    }

    [Fact]
    public async Task ReflectionListsTheApiServices()
    {
        await using RunningServer server = await RunningServer.StartAsync();
        var reflection = new ServerReflection.ServerReflectionClient(server.Channel);

        using var call = reflection.ServerReflectionInfo();
        await call.RequestStream.WriteAsync(new ServerReflectionRequest { ListServices = "" });
        await call.RequestStream.CompleteAsync();
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        string[] services = call.ResponseStream.Current.ListServicesResponse.Service.Select(s => s.Name).ToArray();

        Assert.Contains("ann.v1.VectorService", services);
        Assert.Contains("ann.v1.CollectionService", services);
        Assert.Contains("grpc.health.v1.Health", services);
    }

    [Fact]
    public async Task MetricsCountRequestsByMethodAndStatusAndDescribeCollections()
    {
        await using RunningServer server = await RunningServer.StartAsync();
        await server.Collections.CreateCollectionAsync(new CreateCollectionRequest { Name = "m", Dimension = 2, Metric = Metric.L2 });
        await server.Vectors.UpsertAsync(new UpsertRequest { Collection = "m", Points = { TestData.Point(1, [1, 2]), TestData.Point(2, [3, 4]) } });
        await server.Vectors.SearchAsync(TestData.Search("m", [1, 2], k: 1));
        await server.Vectors.SearchAsync(TestData.Search("m", [1, 2], k: 1));
        await Assert.ThrowsAsync<Grpc.Core.RpcException>(async () => await server.Vectors.SearchAsync(TestData.Search("absent", [1, 2], k: 1)));

        string metrics = await server.GetMetricsTextAsync();

        Assert.Contains("annserver_grpc_requests_total{method=\"/ann.v1.VectorService/Search\",status=\"OK\"} 2", metrics);
        Assert.Contains("annserver_grpc_requests_total{method=\"/ann.v1.VectorService/Search\",status=\"NotFound\"} 1", metrics);
        Assert.Contains("annserver_grpc_request_duration_seconds_count{method=\"/ann.v1.VectorService/Search\",status=\"OK\"} 2", metrics);
        Assert.Contains("annserver_collection_points{collection=\"m\"} 2", metrics);
        Assert.Contains("annserver_points_upserted_total{collection=\"m\"} 2", metrics);
        Assert.Contains("annserver_search_queries_total{collection=\"m\"} 2", metrics);
        Assert.Contains("annserver_collections 1", metrics);
        Assert.Contains("annserver_log_records_total{collection=\"m\"} 1", metrics); // one upsert request, one record
        Assert.Matches("annserver_log_commits_total\\{collection=\"m\"\\} [1-9]", metrics);
        Assert.Matches("annserver_log_commit_seconds_total\\{collection=\"m\"\\} [0-9.e-]+", metrics);
        Assert.Matches("annserver_log_disk_bytes\\{collection=\"m\"\\} [1-9][0-9]*", metrics);
        Assert.Contains("process_working_set_bytes ", metrics);
    }

    [Fact]
    public async Task TheHealthcheckCommandExitsZeroOnlyWhenServing()
    {
        await using RunningServer server = await RunningServer.StartAsync();
        var serving = new ServerOptions { Port = server.GrpcPort };
        var nothing = new ServerOptions { Port = FreePorts.One() };

        Assert.Equal(0, await HealthCheckCommand.RunAsync(serving, new SecurityOptions(), TextWriter.Null, TimeSpan.FromSeconds(5)));
        Assert.Equal(1, await HealthCheckCommand.RunAsync(nothing, new SecurityOptions(), TextWriter.Null, TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task WithACertificateTheGrpcPortSpeaksTls()
    {
        using var files = new TempFolder();
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        using X509Certificate2 certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        File.WriteAllText(files.File("cert.pem"), certificate.ExportCertificatePem());
        File.WriteAllText(files.File("key.pem"), key.ExportPkcs8PrivateKeyPem());

        await using RunningServer server = await RunningServer.StartAsync(args: ["--tls-cert", files.File("cert.pem"), "--tls-key", files.File("key.pem")]);
        var handler = new SocketsHttpHandler();
        handler.SslOptions.RemoteCertificateValidationCallback = (_, presented, _, _) => presented?.GetCertHashString() == certificate.GetCertHashString();
        using GrpcChannel channel = GrpcChannel.ForAddress($"https://127.0.0.1:{server.GrpcPort}", new GrpcChannelOptions { HttpHandler = handler });
        ListCollectionsResponse list = await new CollectionService.CollectionServiceClient(channel).ListCollectionsAsync(new ListCollectionsRequest());
        var probe = new SecurityOptions { TlsCert = files.File("cert.pem"), TlsKey = files.File("key.pem") };

        Assert.Empty(list.Collections);
        Assert.Equal(0, await HealthCheckCommand.RunAsync(new ServerOptions { Port = server.GrpcPort }, probe, TextWriter.Null, TimeSpan.FromSeconds(5)));
    }

    private static async Task<ServingStatus> PollHealthAsync(Health.HealthClient health, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            try
            {
                HealthCheckResponse response = await health.CheckAsync(new HealthCheckRequest(), deadline: DateTime.UtcNow.AddSeconds(2));
                if (response.Status == ServingStatus.Serving || DateTime.UtcNow > deadline) return response.Status;
            }
            catch (Grpc.Core.RpcException) when (DateTime.UtcNow < deadline)
            {
                // not listening yet
            }
            await Task.Delay(50);
        }
    }
}
