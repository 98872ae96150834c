namespace AnnServer.Collections;

// The data plane's failures beyond ArgumentException (a request that can never succeed as written) and
// CollectionNotFoundException. Each maps to one gRPC status at the edge (the host's ErrorStatusInterceptor); the
// messages are written for the caller and name what to do.

/// <summary>The collection cannot answer now, another try (or another replica) may: UNAVAILABLE.</summary>
public class CollectionUnavailableException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>The call does not apply to this collection or this node as they are: FAILED_PRECONDITION.</summary>
public sealed class CollectionPreconditionException(string message) : Exception(message);

/// <summary>A read did not finish within its deadline (a replica had not applied its min_sequence, a shard did not answer in time): DEADLINE_EXCEEDED.</summary>
public sealed class ReadDeadlineExceededException(string message) : Exception(message);

/// <summary>Parts of an answer that do not fit together (a shard answered for other queries or ids): INTERNAL.</summary>
public sealed class InconsistentAnswerException(string message) : Exception(message);

/// <summary>A Get whose answer, measured as it grows, went over the limit at point <paramref name="point"/> (1-based):
/// INVALID_ARGUMENT, with the same words from one server and through a router.</summary>
public sealed class GetAnswerTooLargeException(long maxAnswerBytes, int point, int idCount) : ArgumentException(
    $"the answer to this Get would be over the server's --max-message-bytes ({maxAnswerBytes}) " +
    $"by point {point} of {idCount} ids (its points carry many labels): ask for fewer ids at a time");
