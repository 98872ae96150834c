namespace AnnServer.Build;

/// <summary>A parameter the user gave is wrong; the message names the option. Exits with <see cref="ExitCodes.Usage"/>.</summary>
internal sealed class UsageException(string message) : Exception(message);
