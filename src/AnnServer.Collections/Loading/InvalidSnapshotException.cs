namespace AnnServer.Collections;

/// <summary>A snapshot to load is not what it should be (a damaged file, an upload whose size or SHA-256 does not match
/// its header): INVALID_ARGUMENT, nothing kept. The message says what and where.</summary>
public sealed class InvalidSnapshotException(string message, Exception? inner = null) : Exception(message, inner);
