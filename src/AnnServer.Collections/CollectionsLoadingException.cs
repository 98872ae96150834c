namespace AnnServer.Collections;

/// <summary>The registry is still loading the collections found at start. The gRPC layer answers UNAVAILABLE,
/// which clients retry; health reports NOT_SERVING meanwhile.</summary>
public sealed class CollectionsLoadingException(string progress)
    : Exception($"the server is still loading its collections ({progress}); wait until health reports SERVING");
