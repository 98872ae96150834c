namespace AnnServer.Security;

/// <summary>One configured key: its role, the SHA-256 of the key, and a name for the server's logs (the line it came
/// from when the entry gives none). The key itself is never known to the server.</summary>
public sealed record ApiKey(ApiRole Role, byte[] Hash, string Name);
