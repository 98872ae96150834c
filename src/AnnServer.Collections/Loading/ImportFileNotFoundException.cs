namespace AnnServer.Collections;

/// <summary>The file named for a load is not in the import directory: NOT_FOUND.</summary>
public sealed class ImportFileNotFoundException(string message) : Exception(message);
