namespace AnnServer.Collections;

/// <summary>A read did not finish within its deadline (a replica had not applied its min_sequence, a shard did not answer in time): DEADLINE_EXCEEDED.</summary>
public sealed class ReadDeadlineExceededException(string message) : Exception(message);
