using System.Security.Cryptography.X509Certificates;
using AnnServer.Hosting;
using AnnServer.Protocol.V1;
using AnnServer.Settings;
using Grpc.Core;
using Grpc.Net.Client;

namespace AnnServer.Tests;

/// <summary>Mutual TLS: with --tls-client-ca, only clients presenting a certificate issued by that CA get through.
/// One server for the class; certificates are made at run time.</summary>
public sealed class MutualTlsTests : IAsyncLifetime
{
    private readonly TestCertificates _certificates = new();
    private X509Certificate2 _server = null!;
    private X509Certificate2 _trustedCa = null!;
    private X509Certificate2 _otherCa = null!;
    private string _serverCert = null!, _serverKey = null!, _caPath = null!;
    private RunningServer _running = null!;

    public async Task InitializeAsync()
    {
        (_server, _serverCert, _serverKey) = _certificates.Server();
        (_trustedCa, _caPath) = _certificates.Authority("trusted-ca");
        (_otherCa, _) = _certificates.Authority("other-ca");
        _running = await RunningServer.StartAsync(args: ["--tls-cert", _serverCert, "--tls-key", _serverKey, "--tls-client-ca", _caPath]);
    }

    public async Task DisposeAsync()
    {
        await _running.DisposeAsync();
        _certificates.Dispose();
    }

    private async Task<StatusCode> ListWith(X509Certificate2? clientCertificate)
    {
        var handler = new SocketsHttpHandler();
        handler.SslOptions.RemoteCertificateValidationCallback = (_, presented, _, _) => presented?.GetCertHashString() == _server.GetCertHashString();
        if (clientCertificate is not null)
            handler.SslOptions.ClientCertificates = [clientCertificate];
        using GrpcChannel channel = GrpcChannel.ForAddress($"https://127.0.0.1:{_running.GrpcPort}", new GrpcChannelOptions { HttpHandler = handler });
        try
        {
            await new CollectionService.CollectionServiceClient(channel).ListCollectionsAsync(new ListCollectionsRequest(),
                deadline: DateTime.UtcNow.AddSeconds(10));
            return StatusCode.OK;
        }
        catch (RpcException e)
        {
            return e.StatusCode;
        }
    }

    [Fact]
    public async Task AClientCertificateFromTheCaIsAccepted()
    {
        using X509Certificate2 client = _certificates.Client(_trustedCa, "ranking");
        Assert.Equal(StatusCode.OK, await ListWith(client));
    }

    /// <summary>
    /// The server closes the TLS handshake; depending on when the client notices (before or after it started the HTTP/2
    /// stream) Grpc.Net.Client reports UNAVAILABLE or INTERNAL. Both mean the call never reached the service.
    /// </summary>
    private static void AssertRefusedAtHandshake(StatusCode status) =>
        Assert.True(status is StatusCode.Unavailable or StatusCode.Internal, $"expected the handshake to be refused, got {status}");

    [Fact]
    public async Task AClientWithoutACertificateIsRefused()
    {
        AssertRefusedAtHandshake(await ListWith(null));
    }

    [Fact]
    public async Task ACertificateFromAnotherCaIsRefused()
    {
        using X509Certificate2 stranger = _certificates.Client(_otherCa, "stranger");
        AssertRefusedAtHandshake(await ListWith(stranger));
    }

    [Fact]
    public async Task AnExpiredCertificateFromTheCaIsRefused()
    {
        using X509Certificate2 expired = _certificates.Client(_trustedCa, "old", DateTimeOffset.UtcNow.AddDays(-10), DateTimeOffset.UtcNow.AddDays(-1));
        AssertRefusedAtHandshake(await ListWith(expired));
    }

    [Fact]
    public async Task ACertificateOnlyForServersIsRefused()
    {
        using X509Certificate2 serverOnly = _certificates.Client(_trustedCa, "server-only", clientAuthentication: false);
        AssertRefusedAtHandshake(await ListWith(serverOnly));
    }

    [Fact]
    public async Task TheHealthcheckCommandProbesTheMetricsPortUnderMutualTls()
    {
        var server = new ServerOptions { Port = _running.GrpcPort, MetricsPort = _running.MetricsPort };
        var security = new SecurityOptions { TlsCert = _serverCert, TlsKey = _serverKey, TlsClientCa = _caPath };
        Assert.Equal(0, await HealthCheckCommand.RunAsync(server, security, TextWriter.Null, TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public void ClientCaWithoutTlsIsRefused()
    {
        var e = Assert.Throws<ServerConfigurationException>(() => ReadSettings.From(["--tls-client-ca", _caPath]));
        Assert.Contains("--tls-client-ca needs --tls-cert and --tls-key", e.Message);
    }

    [Fact]
    public void AClientCaFileWithoutCertificatesIsRefused()
    {
        File.WriteAllText(_certificates.Folder.File("empty.pem"), "not a certificate\n");
        var options = new SecurityOptions { TlsCert = _serverCert, TlsKey = _serverKey, TlsClientCa = _certificates.Folder.File("empty.pem") };
        var e = Assert.Throws<ServerConfigurationException>(() => Security.TlsConfiguration.ForGrpcPort(options));
        Assert.Contains("no PEM certificate", e.Message);
    }
    /// <summary>A JSON call (HTTP/1.1) to --http-port over TLS, with the client certificate given, trusting only the
    /// test's server certificate: the HTTP status, or null when the TLS handshake itself failed.</summary>
    private async Task<System.Net.HttpStatusCode?> ListOverJsonWith(X509Certificate2? clientCertificate)
    {
        var handler = new SocketsHttpHandler();
        handler.SslOptions.RemoteCertificateValidationCallback = (_, presented, _, _) => presented?.GetCertHashString() == _server.GetCertHashString();
        if (clientCertificate is not null)
            handler.SslOptions.ClientCertificates = [clientCertificate];
        using var http = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(10) };
        try
        {
            using HttpResponseMessage response = await http.GetAsync($"https://127.0.0.1:{_running.HttpPort}/v1/collections");
            return response.StatusCode;
        }
        catch (HttpRequestException)
        {
            return null;
        }
    }

    [Fact]
    public async Task TheJsonPortServesTlsAndAsksForTheSameClientCertificate()
    {
        using X509Certificate2 trusted = _certificates.Client(_trustedCa, "ranking");
        using X509Certificate2 stranger = _certificates.Client(_otherCa, "stranger");

        Assert.Equal(System.Net.HttpStatusCode.OK, await ListOverJsonWith(trusted));
        Assert.Null(await ListOverJsonWith(stranger));
        Assert.Null(await ListOverJsonWith(null));
    }

    [Fact]
    public async Task TheJsonPortDoesNotAnswerPlainHttp()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        await Assert.ThrowsAsync<HttpRequestException>(() => http.GetAsync($"http://127.0.0.1:{_running.HttpPort}/v1/collections"));
    }
}
