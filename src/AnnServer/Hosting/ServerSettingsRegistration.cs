using AnnServer.Cluster;
using AnnServer.Collections;
using AnnServer.Security;
using AnnServer.Settings;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace AnnServer.Hosting;

/// <summary>
/// Binds the options class of every concern to the settings (<see cref="ServerSettings.Read"/>) and checks them when
/// the host starts (<c>ValidateOnStart</c>), or at once with <see cref="Check"/>.
/// <para>
/// Services take the options object itself (<c>LimitOptions limits</c>), registered as a singleton from
/// <see cref="IOptions{TOptions}.Value"/>: the settings never change while the server runs, so IOptionsMonitor and
/// reloading have nothing to offer, and a plain parameter keeps the services constructible in tests without a container.
/// Resolving one still goes through the options factory, so no service ever sees options that failed their checks.
/// </para>
/// </summary>
public static class ServerSettingsRegistration
{
    public static IServiceCollection AddServerSettings(this IServiceCollection services, IConfiguration settings)
    {
        IConfigurationSection section = settings.GetSection(ServerSettings.Section);
        Add<ServerOptions, ServerOptionsValidator>(services, section);
        Add<LimitOptions, LimitOptionsValidator>(services, section);
        Add<SecurityOptions, SecurityOptionsValidator>(services, section);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SecurityOptions>, SecuritySetupValidator>());
        Add<PersistenceOptions, PersistenceOptionsValidator>(services, section);
        Add<TracingOptions, TracingOptionsValidator>(services, section);
        Add<ClusterOptions, ClusterOptionsValidator>(services, section);
        return services;
    }

    /// <summary>Binds and checks every settings class now, as the host does when it starts, and returns them in a
    /// container of their own (to dispose): for <see cref="AnnServerHost.Build(IConfiguration)"/>, which reports a bad
    /// setting before it builds anything (building the web application already configures Kestrel from the settings),
    /// and for <c>annserver healthcheck</c>, which starts no host.</summary>
    /// <exception cref="ServerConfigurationException">one or more settings failed their checks: every failure, each
    /// once, in one line.</exception>
    public static ServiceProvider Check(IConfiguration settings)
    {
        ServiceProvider provider = new ServiceCollection().AddServerSettings(settings).BuildServiceProvider();
        try
        {
            provider.GetRequiredService<IStartupValidator>().Validate();
            return provider;
        }
        catch (Exception e) when (e is OptionsValidationException or AggregateException)
        {
            provider.Dispose();
            throw new ServerConfigurationException(Describe(e));
        }
    }

    /// <summary>The failures of a settings check, in one line: what ValidateOnStart throws when the host starts
    /// (one <see cref="OptionsValidationException"/>, or an <see cref="AggregateException"/> of several).</summary>
    public static string Describe(Exception validation)
    {
        IEnumerable<Exception> exceptions = validation is AggregateException all ? all.InnerExceptions : [validation];
        return string.Join("; ", exceptions.SelectMany(e => e is OptionsValidationException failed ? failed.Failures : [e.Message]).Distinct());
    }

    private static void Add<TOptions, TValidator>(IServiceCollection services, IConfigurationSection section)
        where TOptions : class
        where TValidator : class, IValidateOptions<TOptions>
    {
        // Every class binds to the one section: each takes the keys of its own properties and ignores the others.
        services.AddOptions<TOptions>().Bind(section).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TOptions>, TValidator>());
        services.TryAddSingleton(provider => provider.GetRequiredService<IOptions<TOptions>>().Value);
    }
}
