using Grpc.Core;

namespace AnnServer.Cluster;

/// <summary>The call context of an in-process service call (<see cref="LocalShardService"/>): the method's name, the
/// deadline and the cancellation, which is all a shard call reads; no peer, headers or trailers.</summary>
internal sealed class LocalCallContext(string method, DateTime deadline, CancellationToken cancellationToken) : ServerCallContext
{
    private readonly Metadata _headers = [];
    private readonly Metadata _trailers = [];

    protected override string MethodCore => method;
    protected override string HostCore => "local";
    protected override string PeerCore => "local";
    protected override DateTime DeadlineCore => deadline;
    protected override Metadata RequestHeadersCore => _headers;
    protected override CancellationToken CancellationTokenCore => cancellationToken;
    protected override Metadata ResponseTrailersCore => _trailers;
    protected override Status StatusCore { get; set; }
    protected override WriteOptions? WriteOptionsCore { get; set; }
    protected override AuthContext AuthContextCore => new(null, new Dictionary<string, List<AuthProperty>>());

    protected override ContextPropagationToken CreatePropagationTokenCore(ContextPropagationOptions? options) =>
        throw new NotSupportedException("an in-process call does not start further calls");

    protected override Task WriteResponseHeadersAsyncCore(Metadata responseHeaders) => Task.CompletedTask;
}
