namespace AnnServer.Collections;

/// <summary>A write, a load or a request goes past a bound of the collection or the server (the memory budget, the number
/// of collections, fields per collection, payload bytes per point); the message names the limit and its setting:
/// RESOURCE_EXHAUSTED. Nothing was changed.</summary>
public sealed class LimitExceededException(string message) : Exception(message);
