namespace AnnServer.Collections;

/// <summary>The call does not apply to this collection or this node as they are: FAILED_PRECONDITION.</summary>
public sealed class CollectionPreconditionException(string message) : Exception(message);
