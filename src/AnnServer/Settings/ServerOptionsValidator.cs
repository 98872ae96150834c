using System.Net;
using AnnServer.Collections;
using Microsoft.Extensions.Options;

namespace AnnServer.Settings;

/// <summary>Checks <see cref="ServerOptions"/> when the server starts. Each failure names the option as it is typed.</summary>
public sealed class ServerOptionsValidator : IValidateOptions<ServerOptions>
{
    public ValidateOptionsResult Validate(string? name, ServerOptions options)
    {
        var failures = new ValidateOptionsResultBuilder();
        if (options.SearchThreads < 0 || options.SearchThreads > 4 * Environment.ProcessorCount)
            failures.AddError($"--search-threads must be between 0 and {4 * Environment.ProcessorCount} (4 x cores), got {options.SearchThreads}");
        CheckPort(failures, options.Port, "--port");
        CheckPort(failures, options.MetricsPort, "--metrics-port");
        if (options.Port != 0 && options.Port == options.MetricsPort)
            failures.AddError($"--port and --metrics-port are both {options.Port}: they must differ");
        if (options.HttpPort != ServerOptions.HttpPortOff)
        {
            CheckPort(failures, options.HttpPort, "--http-port (-1: off)");
            if (options.HttpPort != 0 && (options.HttpPort == options.Port || options.HttpPort == options.MetricsPort))
                failures.AddError($"--http-port {options.HttpPort} is also --port or --metrics-port: they must differ");
        }
        if (string.IsNullOrWhiteSpace(options.Host))
            failures.AddError("--host is empty");
        else if (!IsListenAddress(options.Host))
            failures.AddError($"--host '{options.Host}' is not an IP address, 'localhost' or '*'");
        if (string.IsNullOrWhiteSpace(options.DataDir))
            failures.AddError("--data-dir is empty");
        if (options.ImportDir is { } importDir && !Directory.Exists(importDir))
            failures.AddError($"--import-dir {importDir}: no such folder");
        foreach ((string collection, string path) in options.Snapshots)
        {
            if (CollectionName.Problem(collection) is { } problem)
                failures.AddError($"--snapshot {collection}={path}: the collection name {problem}");
            else if (!File.Exists(path))
                failures.AddError($"--snapshot {collection}={path}: file not found");
        }
        return failures.Build();
    }

    /// <summary>What AnnServerHost can tell Kestrel to listen on: every interface, localhost, or one IP address.</summary>
    private static bool IsListenAddress(string host) =>
        host is "*" or "any"
        || string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase)
        || IPAddress.TryParse(host.Trim('[', ']'), out _);

    private static void CheckPort(ValidateOptionsResultBuilder failures, int port, string option)
    {
        if (port is < 0 or > 65535)
            failures.AddError($"{option} must be between 0 and 65535, got {port}");
    }
}
