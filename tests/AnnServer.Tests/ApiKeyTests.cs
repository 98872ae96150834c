using System.Collections;
using System.Diagnostics;
using AnnServer.Hosting;
using AnnServer.Protocol.Internal.V1;
using AnnServer.Protocol.V1;
using AnnServer.Security;
using AnnServer.Settings;

namespace AnnServer.Tests;

/// <summary>Keys files, the key commands, the role table and the rule that keeps a keyless server on loopback.</summary>
public sealed class ApiKeyTests
{
    private static readonly string SomeHash = ApiKeyHash.ToHex("k");

    [Fact]
    public void TheHashIsTheSha256OfTheKeysUtf8Bytes()
    {
        // echo -n abc | sha256sum
        Assert.Equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", ApiKeyHash.ToHex("abc"));
    }

    [Fact]
    public void AKeyIsFoundOnlyByItsExactText()
    {
        var keys = new ApiKeySet([
            new ApiKey(ApiRole.Read, Convert.FromHexString(ApiKeyHash.ToHex("alpha")), "a"),
            new ApiKey(ApiRole.Admin, Convert.FromHexString(ApiKeyHash.ToHex("beta")), "b"),
        ]);

        Assert.Equal("a", keys.Find("alpha")?.Name);
        Assert.Equal("b", keys.Find("beta")?.Name);
        Assert.Null(keys.Find("Alpha"));
        Assert.Null(keys.Find("alph"));
        Assert.Null(keys.Find(""));
        Assert.Null(keys.Find(new string('a', ApiKeyHash.MaxKeyLength + 1)));
    }

    [Fact]
    public void KeysComeFromTheFileAndTheVariableTogether()
    {
        using var files = new TempFolder();
        File.WriteAllText(files.File("keys"), $"# comment\n\nread:{SomeHash}:reader\nADMIN:{ApiKeyHash.ToHex("a").ToUpperInvariant()}\n");
        var environment = new Hashtable { ["ANNSERVER_API_KEYS"] = $"write:{ApiKeyHash.ToHex("w")}:ingest; read:{ApiKeyHash.ToHex("r")}" };

        using var settings = ReadSettings.From(["--api-keys-file", files.File("keys")], null, environment);
        ApiKeySet keys = ApiKeySet.FromOptions(settings.Get<SecurityOptions>());

        Assert.Equal(
            [(ApiRole.Read, "reader"), (ApiRole.Admin, "keys:4"), (ApiRole.Write, "ingest"), (ApiRole.Read, "api-keys:2")],
            keys.Keys.Select(k => (k.Role, k.Name)));
        Assert.Equal(ApiRole.Admin, keys.Find("a")?.Role);
    }

    [Theory]
    [InlineData("reader:HASH", "line 1: unknown role 'reader' (read, write or admin)")]
    [InlineData("read:abc123", "line 1: the hash must be 64 hexadecimal digits")]
    [InlineData("read", "line 1: expected role:sha256hex[:name], got 'read'")]
    [InlineData("read:HASH\nwrite:HASH", "the same key is configured twice (keys:1 and keys:2)")]
    public void BadKeysFilesAreRefusedWithTheLine(string content, string message)
    {
        using var files = new TempFolder();
        File.WriteAllText(files.File("keys"), content.Replace("HASH", SomeHash));
        var e = Assert.Throws<ServerConfigurationException>(() => ReadSettings.From(["--api-keys-file", files.File("keys")]));
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void AMissingKeysFileIsRefused()
    {
        var e = Assert.Throws<ServerConfigurationException>(() => ReadSettings.From(["--api-keys-file", "/no/such/keys"]));
        Assert.Contains("api-keys-file /no/such/keys", e.Message);
    }

    [Fact]
    public void AMisplacedKeyIsNotEchoedInTheMessage()
    {
        var e = Assert.Throws<ServerConfigurationException>(() => ReadSettings.From(["--api-keys", "ann_SuperSecretKeyPastedHere"]));
        Assert.DoesNotContain("SuperSecret", e.Message);
    }

    [Theory]
    [InlineData("0.0.0.0")]
    [InlineData("*")]
    [InlineData("::")]
    [InlineData("10.1.2.3")]
    public void WithoutKeysANonLoopbackHostNeedsInsecure(string host)
    {
        var e = Assert.Throws<ServerConfigurationException>(() => ReadSettings.From(["--host", host]));
        using var insecure = ReadSettings.From(["--host", host, "--insecure"]);
        using var withKeys = ReadSettings.From(["--host", host, "--api-keys", $"read:{SomeHash}"]);
        using var fromEnvironment = ReadSettings.From(["--host", host], null, new Hashtable { ["ANNSERVER_INSECURE"] = "true" });

        Assert.Contains($"--host {host} is not a loopback address and no API keys are configured", e.Message);
        Assert.Contains("--insecure", e.Message);
        Assert.True(insecure.Get<SecurityOptions>().Insecure);
        Assert.False(withKeys.Get<SecurityOptions>().Insecure);
        Assert.True(fromEnvironment.Get<SecurityOptions>().Insecure);
    }

    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("127.8.9.10")]
    [InlineData("::1")]
    [InlineData("[::1]")]
    [InlineData("localhost")]
    public void LoopbackHostsNeedNoKeys(string host)
    {
        using var settings = ReadSettings.From(["--host", host]);
        Assert.False(settings.Get<SecurityOptions>().Insecure);
    }

    [Fact]
    public void InsecureIsAFlagThatTakesNoValue()
    {
        using var settings = ReadSettings.From(["--insecure", "--port", "5"]);
        using var off = ReadSettings.From(["--insecure=false"]);
        Assert.True(settings.Get<SecurityOptions>().Insecure);
        Assert.Equal(5, settings.Get<ServerOptions>().Port);
        Assert.False(off.Get<SecurityOptions>().Insecure);
    }

    [Fact]
    public void NewKeyPrintsAKeyAndTheLineWithItsHash()
    {
        var output = new StringWriter();
        int exit = ApiKeyCommands.TryRun(["new-key", "write", "ingest"], TextReader.Null, output, TextWriter.Null)!.Value;
        string[] lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

        Assert.Equal(0, exit);
        Assert.StartsWith("ann_", lines[0]);
        Assert.True(lines[0].Length >= 40);
        Assert.Equal($"write:{ApiKeyHash.ToHex(lines[0])}:ingest", lines[1]);
    }

    [Fact]
    public void HashKeyReadsTheKeyFromTheArgumentOrStdin()
    {
        var fromArgument = new StringWriter();
        var fromStdin = new StringWriter();
        ApiKeyCommands.TryRun(["hash-key", "abc"], TextReader.Null, fromArgument, TextWriter.Null);
        ApiKeyCommands.TryRun(["hash-key"], new StringReader("abc\n"), fromStdin, TextWriter.Null);

        Assert.Equal(ApiKeyHash.ToHex("abc"), fromArgument.ToString().Trim());
        Assert.Equal(ApiKeyHash.ToHex("abc"), fromStdin.ToString().Trim());
        Assert.Equal(2, ApiKeyCommands.TryRun(["new-key", "superuser"], TextReader.Null, TextWriter.Null, TextWriter.Null));
        Assert.Null(ApiKeyCommands.TryRun(["--port", "1"], TextReader.Null, TextWriter.Null, TextWriter.Null));
    }

    [Fact]
    public void EveryMethodOfTheProtoHasARoleAndAnythingElseNeedsAdmin()
    {
        var methods = VectorService.Descriptor.Methods.Concat(CollectionService.Descriptor.Methods)
            .Concat(ClusterService.Descriptor.Methods).Concat(ShardService.Descriptor.Methods)
            .Select(m => $"/{m.Service.FullName}/{m.Name}").ToList();

        Assert.All(methods, m => Assert.True(MethodRoles.Required.ContainsKey(m), $"{m} has no role in MethodRoles"));
        Assert.Equal(methods.Count, MethodRoles.Required.Count);
        Assert.Equal(ApiRole.Admin, MethodRoles.For("/ann.v1.VectorService/SomethingNew"));
        Assert.Null(MethodRoles.For("/grpc.health.v1.Health/Watch"));
        Assert.Null(MethodRoles.For("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"));
        Assert.Equal(ApiRole.Read, MethodRoles.For("/ann.internal.v1.ShardService/SearchShard"));
        Assert.Equal(ApiRole.Read, MethodRoles.For("/ann.internal.v1.ShardService/GetShard"));
        Assert.Equal(ApiRole.Admin, MethodRoles.For("/ann.v1.ClusterService/AssignReplica"));
    }

    [Fact]
    public async Task TheBinaryRefusesToServeANonLoopbackAddressWithoutKeys()
    {
        var (exit, _, error) = await RunBinaryAsync(["--host", "0.0.0.0", "--port", "0", "--metrics-port", "0", "--http-port", "0"], TimeSpan.FromSeconds(30));

        Assert.Equal(2, exit);
        Assert.Contains("annserver: --host 0.0.0.0 is not a loopback address and no API keys are configured", error);
    }

    [Fact]
    public async Task TheBinarySaysAtStartThatAuthenticationIsOff()
    {
        using var folder = new TempFolder();
        var (_, output, _) = await RunBinaryAsync(["--port", "0", "--metrics-port", "0", "--http-port", "0", "--data-dir", folder.Path], TimeSpan.FromSeconds(30),
            stopWhenOutputContains: "Limits:");

        Assert.Contains("Authentication is off: no API keys are configured, so the server listens on loopback only (127.0.0.1)", output);
        Assert.Contains("TLS: off", output);
    }

    /// <summary>Runs annserver.dll; kills it once its output contains <paramref name="stopWhenOutputContains"/> (if given).</summary>
    private static async Task<(int Exit, string Output, string Error)> RunBinaryAsync(string[] args, TimeSpan timeout, string? stopWhenOutputContains = null)
    {
        var start = new ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "annserver.dll"), .. args])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            Environment = { ["Logging__Console__FormatterName"] = "simple" },
        };
        using Process process = Process.Start(start)!;
        var output = new System.Text.StringBuilder();
        var error = new System.Text.StringBuilder();
        var seen = new TaskCompletionSource();
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (output) output.AppendLine(e.Data);
            if (stopWhenOutputContains is not null && e.Data.Contains(stopWhenOutputContains)) seen.TrySetResult();
        };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (error) error.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await Task.WhenAny(process.WaitForExitAsync(), seen.Task, Task.Delay(timeout));
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
        lock (output) lock (error) return (process.ExitCode, output.ToString(), error.ToString());
    }
}
