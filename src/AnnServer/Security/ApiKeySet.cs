using System.Security.Cryptography;
using AnnServer.Settings;

namespace AnnServer.Security;

/// <summary>
/// The configured API keys, as SHA-256 hashes with a role each, and the check of a key a client presents.
/// <para>
/// Entries are <c>role:sha256hex</c> or <c>role:sha256hex:name</c>, one per line in the keys file (<c>#</c> starts a
/// comment) and separated by <c>;</c> in <c>--api-keys</c> / <c>ANNSERVER_API_KEYS</c>; both sources add up. The hash
/// is of the key's UTF-8 bytes (<c>annserver hash-key KEY</c> prints it; <c>annserver new-key ROLE</c> makes a key).
/// </para>
/// <para>
/// <see cref="Find"/> hashes the presented key and compares it with every entry with
/// <see cref="CryptographicOperations.FixedTimeEquals"/>, without stopping at a match, so the time taken depends on
/// neither the key nor which entry (if any) matches.
/// </para>
/// </summary>
public sealed class ApiKeySet
{
    private readonly ApiKey[] _keys;

    public ApiKeySet(IEnumerable<ApiKey> keys) => _keys = keys.ToArray();

    public static ApiKeySet Empty { get; } = new([]);

    /// <summary>True when no key is configured: authentication is off.</summary>
    public bool IsEmpty => _keys.Length == 0;

    public IReadOnlyList<ApiKey> Keys => _keys;

    /// <summary>The keys of <see cref="SecurityOptions.ApiKeysFile"/> and <see cref="SecurityOptions.ApiKeys"/>.</summary>
    /// <exception cref="ServerConfigurationException">the file cannot be read, or an entry is malformed or repeated.</exception>
    public static ApiKeySet FromOptions(SecurityOptions options)
    {
        var keys = new List<ApiKey>();
        if (options.ApiKeysFile is { Length: > 0 } path)
        {
            string[] lines;
            try
            {
                lines = File.ReadAllLines(path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new ServerConfigurationException($"api-keys-file {path}: {e.Message}");
            }
            for (int i = 0; i < lines.Length; i++)
            {
                string line = lines[i];
                int comment = line.IndexOf('#');
                if (comment >= 0) line = line[..comment];
                if (line.Trim().Length > 0)
                    keys.Add(ParseEntry(line, $"api-keys-file {path} line {i + 1}", $"{Path.GetFileName(path)}:{i + 1}"));
            }
        }
        if (options.ApiKeys is { Length: > 0 } list)
        {
            string[] entries = list.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            for (int i = 0; i < entries.Length; i++)
                keys.Add(ParseEntry(entries[i], $"api-keys entry {i + 1}", $"api-keys:{i + 1}"));
        }

        var seen = new Dictionary<string, ApiKey>(StringComparer.Ordinal);
        foreach (ApiKey key in keys)
        {
            string hex = Convert.ToHexStringLower(key.Hash);
            if (seen.TryGetValue(hex, out ApiKey? first))
                throw new ServerConfigurationException($"api keys: the same key is configured twice ({first.Name} and {key.Name})");
            seen.Add(hex, key);
        }
        return new ApiKeySet(keys);
    }

    /// <summary>The entry whose hash is the SHA-256 of <paramref name="presented"/>, or null. Constant time in the key
    /// and in which entry matches (see the class remarks).</summary>
    public ApiKey? Find(ReadOnlySpan<char> presented)
    {
        if (presented.IsEmpty || presented.Length > ApiKeyHash.MaxKeyLength)
            return null;
        Span<byte> hash = stackalloc byte[ApiKeyHash.Bytes];
        ApiKeyHash.Compute(presented, hash);
        ApiKey? match = null;
        foreach (ApiKey key in _keys)
        {
            if (CryptographicOperations.FixedTimeEquals(hash, key.Hash))
                match = key;
        }
        return match;
    }

    private static ApiKey ParseEntry(string entry, string where, string defaultName)
    {
        string[] parts = entry.Trim().Split(':', 3);
        if (parts.Length < 2)
            throw new ServerConfigurationException($"{where}: expected role:sha256hex[:name], got '{Abbreviate(entry)}'");
        if (!ApiRoles.TryParse(parts[0], out ApiRole role))
            throw new ServerConfigurationException($"{where}: unknown role '{parts[0].Trim()}' (read, write or admin)");
        if (!ApiKeyHash.TryParseHex(parts[1].Trim(), out byte[] hash))
            throw new ServerConfigurationException(
                $"{where}: the hash must be 64 hexadecimal digits, the SHA-256 of the key (annserver hash-key KEY prints it); " +
                $"got {parts[1].Trim().Length} characters");
        string name = parts.Length == 3 && parts[2].Trim().Length > 0 ? parts[2].Trim() : defaultName;
        return new ApiKey(role, hash, name);
    }

    /// <summary>Enough of a bad entry to find it, not a whole key someone pasted by mistake.</summary>
    private static string Abbreviate(string entry)
    {
        string trimmed = entry.Trim();
        return trimmed.Length <= 12 ? trimmed : trimmed[..6] + "…";
    }
}
