namespace AnnServer.Collections;

/// <summary>Parts of an answer that do not fit together (a shard answered for other queries or ids): INTERNAL.</summary>
public sealed class InconsistentAnswerException(string message) : Exception(message);
