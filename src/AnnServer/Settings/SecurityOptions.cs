namespace AnnServer.Settings;

/// <summary>
/// Who may call the server and how the gRPC port is protected: TLS, mutual TLS, API keys, and the explicit
/// <c>--insecure</c> that lets a server without keys listen beyond loopback (docs/api.md, "Security"). Each property is
/// one setting, named like it: <see cref="ApiKeysFile"/> is <c>--api-keys-file</c>, <c>ANNSERVER_API_KEYS_FILE</c> and
/// <c>"AnnServer": { "ApiKeysFile" }</c> (<see cref="ServerSettings"/>). Checked by <see cref="SecurityOptionsValidator"/>
/// (the settings themselves) and Security.SecuritySetupValidator (the keys, certificates and listen policy they give).
/// </summary>
public sealed class SecurityOptions
{
    /// <summary>PEM certificate (chain) for TLS on the gRPC port; with <see cref="TlsKey"/>. Plain HTTP/2 when absent.</summary>
    public string? TlsCert { get; set; }

    /// <summary>PEM private key of <see cref="TlsCert"/>.</summary>
    public string? TlsKey { get; set; }

    /// <summary>True when the gRPC port speaks TLS.</summary>
    public bool UseTls => TlsCert is not null;

    /// <summary>PEM file of CA certificates: with it, clients must present a certificate issued by one of them (mutual TLS).</summary>
    public string? TlsClientCa { get; set; }

    /// <summary>File of API keys, one <c>role:sha256hex[:name]</c> per line (Security/ApiKeySet.cs, docs/api.md "Security").</summary>
    public string? ApiKeysFile { get; set; }

    /// <summary>API keys given inline, <c>role:sha256hex[:name]</c> separated by ';'; added to those of <see cref="ApiKeysFile"/>.</summary>
    public string? ApiKeys { get; set; }

    /// <summary>Allows serving a non-loopback address without API keys (authentication off).</summary>
    public bool Insecure { get; set; }
}
