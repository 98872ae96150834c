namespace AnnServer.Security;

/// <summary>
/// What an API key may do. The roles are nested: <see cref="Write"/> includes <see cref="Read"/>, and <see cref="Admin"/>
/// includes both. Write includes read because a writer learns about the data anyway (Upsert answers inserted or
/// replaced, Delete answers not_found), and because the services that write (ingestion jobs) read back what they wrote;
/// a separate write-only role would protect nothing and cost every writer a second key.
/// The numbers are the order of the roles and are never persisted.
/// </summary>
public enum ApiRole
{
    /// <summary>Search, SearchBatch, SearchStream, Recommend, Get, Count, Scroll, GetCollectionInfo, ListCollections.</summary>
    Read = 1,

    /// <summary>Upsert and Delete, and everything <see cref="Read"/> may do.</summary>
    Write = 2,

    /// <summary>CreateCollection, DropCollection, Checkpoint, and everything <see cref="Write"/> may do.</summary>
    Admin = 3,
}

public static class ApiRoles
{
    /// <summary>True when a key with role <paramref name="granted"/> may call a method that requires <paramref name="required"/>.</summary>
    public static bool Includes(this ApiRole granted, ApiRole required) => granted >= required;

    /// <summary>The name used in key files and messages: read, write, admin.</summary>
    public static string Name(this ApiRole role) => role switch
    {
        ApiRole.Read => "read",
        ApiRole.Write => "write",
        ApiRole.Admin => "admin",
        _ => ((int)role).ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    public static bool TryParse(string name, out ApiRole role)
    {
        switch (name.Trim().ToLowerInvariant())
        {
            case "read": role = ApiRole.Read; return true;
            case "write": role = ApiRole.Write; return true;
            case "admin": role = ApiRole.Admin; return true;
            default: role = default; return false;
        }
    }
}
