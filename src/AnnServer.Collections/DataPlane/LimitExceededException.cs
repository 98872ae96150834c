namespace AnnServer.Collections;

/// <summary>A write or request goes past a bound of the collection or the server (fields per collection, payload bytes
/// per point); the message names the field and the limit: RESOURCE_EXHAUSTED. Nothing was changed.</summary>
public sealed class LimitExceededException(string message) : Exception(message);
