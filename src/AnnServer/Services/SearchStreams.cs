using AnnServer.Diagnostics;
using AnnServer.Limits;
using AnnServer.Protocol.V1;
using AnnServer.Settings;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace AnnServer.Services;

/// <summary>
/// Serves SearchStream calls: what every stream shares (the limits, the search slots, the metrics). Each call is a
/// <see cref="SearchStreamCall"/>; each of its searches is the unary Search of <see cref="VectorGrpcService"/>, so a
/// message is validated, limited, mapped and answered exactly as a unary call would be, on a local or a cluster
/// collection alike.
/// </summary>
public sealed class SearchStreams(LimitOptions limits, SearchAdmission admission, ServerMetrics metrics, ILogger<SearchStreams> logger)
{
    /// <summary>The method label of each stream search in the call metrics: every search of a stream is counted and
    /// timed there as a unary Search is under its own.</summary>
    public const string MethodName = "/ann.v1.VectorService/SearchStream";

    private int _open;

    /// <summary>SearchStream calls open now.</summary>
    public int Open => Volatile.Read(ref _open);

    internal LimitOptions Limits { get; } = limits;
    internal SearchAdmission Admission { get; } = admission;
    internal ServerMetrics Metrics { get; } = metrics;
    internal ILogger Logger { get; } = logger;

    public async Task ServeAsync(VectorGrpcService service, IAsyncStreamReader<SearchStreamRequest> requests,
        IServerStreamWriter<SearchStreamResponse> responses, ServerCallContext context)
    {
        if (Interlocked.Increment(ref _open) > Limits.MaxSearchStreams)
        {
            Interlocked.Decrement(ref _open);
            throw new RpcException(new Status(StatusCode.ResourceExhausted,
                $"{Limits.MaxSearchStreams} SearchStream calls are open, the limit of --max-search-streams: close one, or send searches " +
                "over an open stream"));
        }
        Metrics.RecordStreamOpened();
        try
        {
            var call = new SearchStreamCall(this, service, responses, context);
            await call.RunAsync(requests).ConfigureAwait(false);
        }
        finally
        {
            Metrics.RecordStreamClosed();
            Interlocked.Decrement(ref _open);
        }
    }
}
