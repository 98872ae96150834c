using AnnServer.Security;

namespace AnnServer.Hosting;

/// <summary>
/// <c>annserver new-key ROLE [NAME]</c> and <c>annserver hash-key [KEY]</c>: the two steps of giving a client a key,
/// without any other tool. new-key prints a random key (line 1, for the client) and the keys-file line with its hash
/// (line 2, for the server); hash-key prints the hash of a key you already have, read from stdin when not given, so
/// that it stays out of the shell history and the process list.
/// </summary>
public static class ApiKeyCommands
{
    /// <summary>Runs the command when <paramref name="args"/> names one; returns its exit code (0, or 2 for bad usage),
    /// or null when <paramref name="args"/> is not one of these commands.</summary>
    public static int? TryRun(string[] args, TextReader input, TextWriter output, TextWriter error)
    {
        if (args.Length == 0) return null;
        switch (args[0])
        {
            case "hash-key":
                return HashKey(args[1..], input, output, error);
            case "new-key":
                return NewKey(args[1..], output, error);
            default:
                return null;
        }
    }

    private static int HashKey(string[] args, TextReader input, TextWriter output, TextWriter error)
    {
        if (args.Length > 1)
        {
            error.WriteLine("annserver: usage: annserver hash-key [KEY]   (without KEY, the key is read from the first line of stdin)");
            return 2;
        }
        string? key = args.Length == 1 ? args[0] : input.ReadLine()?.Trim();
        if (string.IsNullOrEmpty(key) || key.Length > ApiKeyHash.MaxKeyLength)
        {
            error.WriteLine($"annserver: hash-key: the key must be 1 to {ApiKeyHash.MaxKeyLength} characters");
            return 2;
        }
        output.WriteLine(ApiKeyHash.ToHex(key));
        return 0;
    }

    private static int NewKey(string[] args, TextWriter output, TextWriter error)
    {
        if (args.Length is < 1 or > 2 || !ApiRoles.TryParse(args[0], out ApiRole role))
        {
            error.WriteLine("annserver: usage: annserver new-key read|write|admin [NAME]");
            return 2;
        }
        if (args.Length == 2 && (args[1].Contains(':') || args[1].Contains('#') || args[1].Contains(';') || args[1].Trim().Length == 0))
        {
            error.WriteLine("annserver: new-key: NAME must not be empty or contain ':', ';' or '#'");
            return 2;
        }
        string key = ApiKeyHash.NewKey();
        string line = $"{role.Name()}:{ApiKeyHash.ToHex(key)}" + (args.Length == 2 ? ":" + args[1].Trim() : "");
        output.WriteLine(key);
        output.WriteLine(line);
        error.WriteLine("annserver: line 1 is the key: give it to the client (the server never stores it); " +
                        "line 2 goes into the keys file (--api-keys-file) or ANNSERVER_API_KEYS");
        return 0;
    }
}
