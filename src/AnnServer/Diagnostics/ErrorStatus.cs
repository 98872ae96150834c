using AnnServer.Cluster.State;
using AnnServer.Collections;
using Grpc.Core;

namespace AnnServer.Diagnostics;

/// <summary>
/// Turns the domain layer's exceptions into gRPC status codes, keeping their messages (which name the field or the
/// collection): not found → NOT_FOUND, exists → ALREADY_EXISTS, a compare-and-set alias
/// switch that lost → ABORTED, a damaged snapshot or upload → INVALID_ARGUMENT, a memory budget or collection limit →
/// RESOURCE_EXHAUSTED, still loading or a shard with no replica to answer →
/// UNAVAILABLE, a call that does not apply to the collection or node (a checkpoint of a cluster collection, a search
/// on a replica-only node, a replica assigned to a node too old to serve it) → FAILED_PRECONDITION, a min_sequence not reached in time → DEADLINE_EXCEEDED, a bad
/// argument that got past the edge checks → INVALID_ARGUMENT, cancellation → CANCELLED or DEADLINE_EXCEEDED, a failed file operation
/// (a checkpoint on a full disk) → INTERNAL with the system's message, so that an operator can act on it.
/// Anything else is a bug: it is left to gRPC, which logs it and answers UNKNOWN without details. Applied to every
/// call by <see cref="ServerCallInterceptor"/>, and to each search of a stream by SearchStreamCall.
/// </summary>
public static class ErrorStatus
{
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
        ReplicaAssignmentException { Problem: ReplicaAssignmentProblem.NodeLacksCapability } => new Status(StatusCode.FailedPrecondition, e.Message),
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
