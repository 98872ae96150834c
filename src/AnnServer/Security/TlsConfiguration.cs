using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using AnnServer.Settings;
using Microsoft.AspNetCore.Server.Kestrel.Https;

namespace AnnServer.Security;

/// <summary>The TLS settings of the gRPC port: the server's certificate and key from PEM files, and, with
/// <c>--tls-client-ca</c>, a client certificate required of every connection (<see cref="ClientCertificateValidator"/>).</summary>
public static class TlsConfiguration
{
    /// <exception cref="ServerConfigurationException">a PEM file cannot be read.</exception>
    public static HttpsConnectionAdapterOptions ForGrpcPort(SecurityOptions options)
    {
        X509Certificate2 certificate;
        try
        {
            certificate = X509Certificate2.CreateFromPemFile(options.TlsCert!, options.TlsKey);
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException or ArgumentException)
        {
            throw new ServerConfigurationException($"tls-cert {options.TlsCert} / tls-key {options.TlsKey}: {e.Message}");
        }

        var https = new HttpsConnectionAdapterOptions { ServerCertificate = certificate };
        if (options.TlsClientCa is { } ca)
        {
            ClientCertificateValidator validator = ClientCertificateValidator.FromPemFile(ca);
            https.ClientCertificateMode = ClientCertificateMode.RequireCertificate;
            https.ClientCertificateValidation = validator.Validate;
        }
        return https;
    }
}
