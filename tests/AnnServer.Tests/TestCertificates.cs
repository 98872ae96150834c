using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace AnnServer.Tests;

/// <summary>Certificates made at run time (nothing is committed): a server certificate for 127.0.0.1, certificate
/// authorities, and client certificates they issue. Each is written as PEM files in <see cref="Folder"/>.</summary>
public sealed class TestCertificates : IDisposable
{
    public TempFolder Folder { get; } = new();

    /// <summary>A self-signed server certificate for 127.0.0.1; returns it and the paths of its PEM files.</summary>
    public (X509Certificate2 Certificate, string CertPath, string KeyPath) Server(string name = "server")
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        X509Certificate2 certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        return (certificate, Write(name + ".pem", certificate.ExportCertificatePem()), Write(name + ".key", key.ExportPkcs8PrivateKeyPem()));
    }

    /// <summary>A self-signed CA certificate (with its private key) and the path of its PEM file.</summary>
    public (X509Certificate2 Certificate, string CertPath) Authority(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, false, 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, critical: true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        X509Certificate2 certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-30), DateTimeOffset.UtcNow.AddDays(30));
        return (certificate, Write(name + ".pem", certificate.ExportCertificatePem()));
    }

    /// <summary>A client certificate issued by <paramref name="authority"/>, with its private key, valid from
    /// <paramref name="notBefore"/> to <paramref name="notAfter"/> (yesterday to tomorrow by default).</summary>
    public X509Certificate2 Client(X509Certificate2 authority, string name, DateTimeOffset? notBefore = null, DateTimeOffset? notAfter = null,
        bool clientAuthentication = true)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, false));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid(clientAuthentication ? "1.3.6.1.5.5.7.3.2" : "1.3.6.1.5.5.7.3.1")], false));
        byte[] serial = RandomNumberGenerator.GetBytes(12);
        using X509Certificate2 issued = request.Create(authority, notBefore ?? DateTimeOffset.UtcNow.AddDays(-1),
            notAfter ?? DateTimeOffset.UtcNow.AddDays(1), serial);
        // Through PKCS#12, so that SslStream on Linux can use the private key for the client handshake.
        using X509Certificate2 withKey = issued.CopyWithPrivateKey(key);
        return X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null);
    }

    private string Write(string file, string pem)
    {
        File.WriteAllText(Folder.File(file), pem);
        return Folder.File(file);
    }

    public void Dispose() => Folder.Dispose();
}
