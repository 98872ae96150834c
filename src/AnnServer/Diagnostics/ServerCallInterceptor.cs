using System.Diagnostics;
using AnnServer.Limits;
using Grpc.Core;
using Grpc.Core.Interceptors;

namespace AnnServer.Diagnostics;

/// <summary>
/// The server's one gRPC interceptor, three steps from the outside in: each unary and client-streaming call is counted
/// and timed by method and final status (<see cref="ServerMetrics"/>); the domain layer's exceptions become gRPC statuses
/// (<see cref="ErrorStatus"/>); the server-wide limits admit or refuse it (<see cref="ResourceLimitInterceptor"/>).
/// One interceptor rather than three because Grpc.AspNetCore wraps each registered interceptor in an async delegate of
/// its own (a state machine and a Task per interceptor per call, InterceptorPipelineBuilder): here the steps are plain
/// calls, and a call that completes synchronously (a local search) passes through without an async state machine.
/// </summary>
public sealed class ServerCallInterceptor(ServerMetrics metrics, ResourceLimitInterceptor limits) : Interceptor
{
    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        long start = Stopwatch.GetTimestamp();
        Task<TResponse> call;
        try
        {
            call = limits.UnaryServerHandler(request, context, continuation);
        }
        catch (Exception e)
        {
            RpcException? mapped = Failed(e, context, start);
            if (mapped is null) throw;
            throw mapped;
        }
        if (!call.IsCompletedSuccessfully) return CompleteAsync(call, context, start);
        metrics.RecordCall(context.Method, StatusCode.OK, Stopwatch.GetElapsedTime(start));
        return call;
    }

    public override Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        long start = Stopwatch.GetTimestamp();
        Task<TResponse> call;
        try
        {
            call = continuation(requestStream, context);
        }
        catch (Exception e)
        {
            RpcException? mapped = Failed(e, context, start);
            if (mapped is null) throw;
            throw mapped;
        }
        return CompleteAsync(call, context, start);
    }

    private async Task<TResponse> CompleteAsync<TResponse>(Task<TResponse> call, ServerCallContext context, long start)
    {
        try
        {
            TResponse response = await call.ConfigureAwait(false);
            metrics.RecordCall(context.Method, StatusCode.OK, Stopwatch.GetElapsedTime(start));
            return response;
        }
        catch (Exception e)
        {
            RpcException? mapped = Failed(e, context, start);
            if (mapped is null) throw;
            throw mapped;
        }
    }

    /// <summary>Records a failed call under the status it ends with; returns the exception to throw instead of
    /// <paramref name="e"/> (its status), or null to let <paramref name="e"/> go on (an RpcException already, or a
    /// bug: gRPC logs it and answers UNKNOWN without details).</summary>
    private RpcException? Failed(Exception e, ServerCallContext context, long start)
    {
        RpcException? mapped = ErrorStatus.ToStatus(e, context) is { } status ? new RpcException(status) : null;
        StatusCode code = mapped?.StatusCode ?? (e is RpcException rpc ? rpc.StatusCode : StatusCode.Unknown);
        metrics.RecordCall(context.Method, code, Stopwatch.GetElapsedTime(start));
        return mapped;
    }
}
