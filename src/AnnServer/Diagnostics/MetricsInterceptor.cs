using System.Diagnostics;
using Grpc.Core;
using Grpc.Core.Interceptors;

namespace AnnServer.Diagnostics;

/// <summary>Counts every unary and client-streaming call (UploadSnapshot) and times it, by method and final status code.
/// Registered first, so it is the outermost interceptor and sees the status that <see cref="ErrorStatusInterceptor"/> chose.
/// A call that completes synchronously (a local search) is recorded without an async state machine: this runs on every
/// call.</summary>
public sealed class MetricsInterceptor(ServerMetrics metrics) : Interceptor
{
    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        long start = Stopwatch.GetTimestamp();
        Task<TResponse> call;
        try
        {
            call = continuation(request, context);
        }
        catch (RpcException e)
        {
            metrics.RecordCall(context.Method, e.StatusCode, Stopwatch.GetElapsedTime(start));
            throw;
        }
        catch
        {
            metrics.RecordCall(context.Method, StatusCode.Unknown, Stopwatch.GetElapsedTime(start));
            throw;
        }
        if (!call.IsCompletedSuccessfully) return RecordWhenDoneAsync(call, context, start);
        metrics.RecordCall(context.Method, StatusCode.OK, Stopwatch.GetElapsedTime(start));
        return call;
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

    private async Task<TResponse> RecordWhenDoneAsync<TResponse>(Task<TResponse> call, ServerCallContext context, long start)
    {
        StatusCode status = StatusCode.Unknown;
        try
        {
            TResponse response = await call.ConfigureAwait(false);
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
