namespace AnnServer.Settings;

/// <summary>A setting that cannot be used; the message names it and where it came from. The process prints it and
/// exits with code 2 instead of starting.</summary>
public sealed class ServerConfigurationException(string message) : Exception(message);
