namespace AnnServer.Collections;

/// <summary>A server-wide limit (the memory budget, the number of collections) refuses the call: RESOURCE_EXHAUSTED.
/// The message names the limit and its setting.</summary>
public sealed class LimitExceededException(string message) : Exception(message);
