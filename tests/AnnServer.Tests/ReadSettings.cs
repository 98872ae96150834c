using System.Collections;
using AnnServer.Hosting;
using AnnServer.Settings;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace AnnServer.Tests;

/// <summary>The server's settings as the process reads and checks them: <see cref="ServerSettings.Read"/> from the
/// command line, the environment and appsettings.json, then every options class bound and checked
/// (<see cref="ServerSettingsRegistration.Check"/>). Throws <see cref="ServerConfigurationException"/> as the process
/// would print it.</summary>
internal sealed class ReadSettings : IDisposable
{
    private readonly ServiceProvider _options;

    private ReadSettings(ServerMode mode, ServiceProvider options)
    {
        Mode = mode;
        _options = options;
    }

    /// <param name="environment">the environment variables; none when null (not the test process's).</param>
    public static ReadSettings From(string[] args, IConfiguration? appSettings = null, IDictionary? environment = null)
    {
        var (mode, configuration) = ServerSettings.Read(args, appSettings, environment ?? new Hashtable());
        return new ReadSettings(mode, ServerSettingsRegistration.Check(configuration));
    }

    public ServerMode Mode { get; }

    /// <summary>The options of one concern: <see cref="ServerOptions"/>, <see cref="LimitOptions"/>, ...</summary>
    public T Get<T>() where T : class => _options.GetRequiredService<T>();

    public void Dispose() => _options.Dispose();
}
