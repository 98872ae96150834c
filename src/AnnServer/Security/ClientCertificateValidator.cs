using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using AnnServer.Settings;

namespace AnnServer.Security;

/// <summary>
/// Mutual TLS: a client certificate is accepted when it chains to one of the CA certificates of <c>--tls-client-ca</c>
/// (and to nothing else: the system's trusted roots are not used), is within its validity period, and, if it lists
/// extended key usages, allows client authentication. Revocation is not checked (no CRL or OCSP is fetched from a
/// server on the request path); replace the CA, or the client's certificate, to revoke.
/// </summary>
public sealed class ClientCertificateValidator
{
    private static readonly Oid ClientAuthentication = new("1.3.6.1.5.5.7.3.2");

    private readonly X509Certificate2Collection _authorities;

    public ClientCertificateValidator(X509Certificate2Collection authorities) => _authorities = authorities;

    /// <exception cref="ServerConfigurationException">the file holds no PEM certificate.</exception>
    public static ClientCertificateValidator FromPemFile(string path)
    {
        var authorities = new X509Certificate2Collection();
        try
        {
            authorities.ImportFromPemFile(path);
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException)
        {
            throw new ServerConfigurationException($"tls-client-ca {path}: {e.Message}");
        }
        if (authorities.Count == 0)
            throw new ServerConfigurationException($"tls-client-ca {path}: no PEM certificate (-----BEGIN CERTIFICATE-----) in the file");
        return new ClientCertificateValidator(authorities);
    }

    public int AuthorityCount => _authorities.Count;

    /// <summary>Kestrel's ClientCertificateValidation callback. The policy errors Kestrel computed against the system's
    /// roots are ignored: the chain is built again against the configured CAs only.</summary>
    public bool Validate(X509Certificate2 certificate, X509Chain? presentedChain, SslPolicyErrors errors)
    {
        using var chain = new X509Chain();
        X509ChainPolicy policy = chain.ChainPolicy;
        policy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        policy.CustomTrustStore.AddRange(_authorities);
        policy.RevocationMode = X509RevocationMode.NoCheck;
        policy.ApplicationPolicy.Add(ClientAuthentication);
        if (presentedChain is not null)
        {
            // Intermediates the client sent along with its certificate.
            foreach (X509ChainElement element in presentedChain.ChainElements)
                if (!element.Certificate.Equals(certificate)) policy.ExtraStore.Add(element.Certificate);
        }
        return chain.Build(certificate);
    }
}
