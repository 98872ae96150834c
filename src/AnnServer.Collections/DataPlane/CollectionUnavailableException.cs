namespace AnnServer.Collections;

/// <summary>The collection cannot answer now, another try (or another replica) may: UNAVAILABLE.</summary>
public class CollectionUnavailableException(string message, Exception? inner = null) : Exception(message, inner);
