using System.Security.Cryptography.X509Certificates;
using AnnServer.Settings;
using Microsoft.Extensions.Options;

namespace AnnServer.Security;

/// <summary>
/// Checks, when the server starts, that the security the settings describe can be set up: the API keys can be read
/// (<see cref="ApiKeySet.FromOptions"/>), the TLS certificate and key load (<see cref="TlsConfiguration.ForGrpcPort"/>),
/// and the <see cref="ListenPolicy"/> holds for --host. The settings' own checks (TLS files go together and exist) are
/// <see cref="SecurityOptionsValidator"/>'s; what they already refuse is not tried here.
/// </summary>
public sealed class SecuritySetupValidator(IOptions<ServerOptions> server) : IValidateOptions<SecurityOptions>
{
    public ValidateOptionsResult Validate(string? name, SecurityOptions options)
    {
        var failures = new ValidateOptionsResultBuilder();
        try
        {
            ApiKeySet keys = ApiKeySet.FromOptions(options);
            if (ListenHost() is { } host)
                ListenPolicy.Validate(host, options, keys);
        }
        catch (ServerConfigurationException e)
        {
            failures.AddError(e.Message);
        }

        if (options.TlsCert is not null && File.Exists(options.TlsCert) && options.TlsKey is not null && File.Exists(options.TlsKey)
            && (options.TlsClientCa is null || File.Exists(options.TlsClientCa)))
        {
            try
            {
                using X509Certificate2? certificate = TlsConfiguration.ForGrpcPort(options).ServerCertificate as X509Certificate2;
            }
            catch (ServerConfigurationException e)
            {
                failures.AddError(e.Message);
            }
        }
        return failures.Build();
    }

    /// <summary>--host, or null when the server settings fail their own checks (which report that themselves).</summary>
    private string? ListenHost()
    {
        try
        {
            return server.Value.Host;
        }
        catch (OptionsValidationException)
        {
            return null;
        }
    }
}
