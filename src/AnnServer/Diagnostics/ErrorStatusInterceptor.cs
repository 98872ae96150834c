using AnnServer.Cluster.State;
using AnnServer.Collections;
using Grpc.Core;
using Grpc.Core.Interceptors;

namespace AnnServer.Diagnostics;

/// <summary>
/// Turns the domain layer's exceptions into gRPC status codes, keeping their messages (which name the field or the
/// collection): not found → NOT_FOUND, exists → ALREADY_EXISTS, a compare-and-set alias
/// switch that lost → ABORTED, a damaged snapshot or upload → INVALID_ARGUMENT, a memory budget or collection limit →
/// RESOURCE_EXHAUSTED, still loading or a shard with no replica to answer →
/// UNAVAILABLE, a call that does not apply to the collection or node (a checkpoint of a cluster collection, a search
/// on a replica-only node) → FAILED_PRECONDITION, a min_sequence not reached in time → DEADLINE_EXCEEDED, a bad
/// argument that got past the edge checks → INVALID_ARGUMENT, cancellation → CANCELLED or DEADLINE_EXCEEDED, a failed file operation
/// (a checkpoint on a full disk) → INTERNAL with the system's message, so that an operator can act on it.
/// Anything else is a bug: it is left to gRPC, which logs it and answers UNKNOWN without details.
/// </summary>
public sealed class ErrorStatusInterceptor : Interceptor
{
    /// <summary>A call that completed successfully passes through untouched, with no async state machine (this runs on
    /// every call); a synchronous throw (the edge's validation) or a failed task is mapped.</summary>
    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        Task<TResponse> call;
        try
        {
            call = continuation(request, context);
        }
        catch (Exception e) when (ToStatus(e, context) is { } status)
        {
            throw new RpcException(status);
        }
        return call.IsCompletedSuccessfully ? call : MapFailureAsync(call, context);
    }

    private static async Task<TResponse> MapFailureAsync<TResponse>(Task<TResponse> call, ServerCallContext context)
    {
        try
        {
            return await call.ConfigureAwait(false);
        }
        catch (Exception e) when (ToStatus(e, context) is { } status)
        {
            throw new RpcException(status);
        }
    }

    public override async Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            return await continuation(requestStream, context).ConfigureAwait(false);
        }
        catch (Exception e) when (ToStatus(e, context) is { } status)
        {
            throw new RpcException(status);
        }
    }

    internal static Status? ToStatus(Exception e, ServerCallContext context) => e switch
    {
        RpcException => null,
        CollectionNotFoundException => new Status(StatusCode.NotFound, e.Message),
        AliasNotFoundException => new Status(StatusCode.NotFound, e.Message),
        Core.Filtering.UnknownIdSetException unknown => UnknownIdSet(unknown, context),
        ImportFileNotFoundException => new Status(StatusCode.NotFound, e.Message),
        AliasTargetChangedException => new Status(StatusCode.Aborted, e.Message),
        InvalidSnapshotException => new Status(StatusCode.InvalidArgument, e.Message),
        LimitExceededException => new Status(StatusCode.ResourceExhausted, e.Message),
        CollectionAlreadyExistsException => new Status(StatusCode.AlreadyExists, e.Message),
        CollectionsLoadingException => new Status(StatusCode.Unavailable, e.Message),
        CollectionUnavailableException => new Status(StatusCode.Unavailable, e.Message),
        CollectionPreconditionException => new Status(StatusCode.FailedPrecondition, e.Message),
        ReadDeadlineExceededException => new Status(StatusCode.DeadlineExceeded, e.Message),
        InconsistentAnswerException => new Status(StatusCode.Internal, e.Message),
        ReplicaAssignmentException { Problem: ReplicaAssignmentProblem.AlreadyAssigned } => new Status(StatusCode.AlreadyExists, e.Message),
        ReplicaAssignmentException => new Status(StatusCode.NotFound, e.Message),
        ArgumentException argument => new Status(StatusCode.InvalidArgument, MessageWithoutParameter(argument)),
        IOException => new Status(StatusCode.Internal, $"I/O error in the server: {e.Message}"),
        OperationCanceledException when context.Deadline <= DateTime.UtcNow =>
            new Status(StatusCode.DeadlineExceeded, "the call's deadline passed; the work was stopped"),
        OperationCanceledException when context.CancellationToken.IsCancellationRequested =>
            new Status(StatusCode.Cancelled, "the call was cancelled; the work was stopped"),
        _ => null,
    };

    /// <summary>NOT_FOUND, with the set's name in a trailer: a router tells it from a replica's "no such replica".</summary>
    private static Status UnknownIdSet(Core.Filtering.UnknownIdSetException e, ServerCallContext context)
    {
        context.ResponseTrailers.Add(Cluster.Transport.RemoteShardReader.UnknownIdSetTrailer, e.Name);
        return new Status(StatusCode.NotFound, e.Message);
    }

    /// <summary>ArgumentException.Message appends " (Parameter 'x')"; the message already says what is wrong.</summary>
    private static string MessageWithoutParameter(ArgumentException e) =>
        e.ParamName is null ? e.Message : e.Message.Replace($" (Parameter '{e.ParamName}')", "", StringComparison.Ordinal);
}
