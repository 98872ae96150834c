using Microsoft.Extensions.Options;

namespace AnnServer.Settings;

/// <summary>Checks <see cref="SecurityOptions"/> when the server starts: the TLS settings go together and their files
/// exist. Whether the keys and certificates can be read, and the listen policy, are checked by
/// Security.SecuritySetupValidator. Each failure names the option as it is typed.</summary>
public sealed class SecurityOptionsValidator : IValidateOptions<SecurityOptions>
{
    public ValidateOptionsResult Validate(string? name, SecurityOptions options)
    {
        var failures = new ValidateOptionsResultBuilder();
        if ((options.TlsCert is null) != (options.TlsKey is null))
            failures.AddError("--tls-cert and --tls-key go together: give both or neither");
        if (options.TlsCert is not null && !File.Exists(options.TlsCert))
            failures.AddError($"--tls-cert: file not found: {options.TlsCert}");
        if (options.TlsKey is not null && !File.Exists(options.TlsKey))
            failures.AddError($"--tls-key: file not found: {options.TlsKey}");
        if (options.TlsClientCa is not null && options.TlsCert is null)
            failures.AddError("--tls-client-ca needs --tls-cert and --tls-key: mutual TLS is TLS first");
        if (options.TlsClientCa is not null && !File.Exists(options.TlsClientCa))
            failures.AddError($"--tls-client-ca: file not found: {options.TlsClientCa}");
        return failures.Build();
    }
}
