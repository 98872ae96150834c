using System.Diagnostics;
using Grpc.Core;
using Grpc.Core.Interceptors;

namespace AnnServer.Diagnostics;

/// <summary>Counts every unary and client-streaming call (UploadSnapshot) and times it, by method and final status code.
/// Registered first, so it is the outermost interceptor and sees the status that <see cref="ErrorStatusInterceptor"/> chose.</summary>
public sealed class MetricsInterceptor(ServerMetrics metrics) : Interceptor
{
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        long start = Stopwatch.GetTimestamp();
        StatusCode status = StatusCode.Unknown;
        try
        {
            TResponse response = await continuation(request, context).ConfigureAwait(false);
            status = StatusCode.OK;
            return response;
        }
        catch (RpcException e)
        {
            status = e.StatusCode;
            throw;
        }
        finally
        {
            metrics.RecordCall(context.Method, status, Stopwatch.GetElapsedTime(start));
        }
    }

    public override async Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        long start = Stopwatch.GetTimestamp();
        StatusCode status = StatusCode.Unknown;
        try
        {
            TResponse response = await continuation(requestStream, context).ConfigureAwait(false);
            status = StatusCode.OK;
            return response;
        }
        catch (RpcException e)
        {
            status = e.StatusCode;
            throw;
        }
        finally
        {
            metrics.RecordCall(context.Method, status, Stopwatch.GetElapsedTime(start));
        }
    }
}
