using AnnServer.Core.Filtering;

namespace AnnServer.Collections;

/// <summary>The rules for an id set's name: 1 to <see cref="FilterLimits.MaxIdSetNameLength"/> characters of ASCII letters,
/// digits, '-', '_' and '.', so that it is a key as it stands in every store that holds it (the cluster's KV bucket).</summary>
public static class IdSetName
{
    /// <exception cref="ArgumentException">the name breaks a rule; the message names <paramref name="field"/> and the rule.</exception>
    public static void Validate(string? name, string field = "name")
    {
        if (string.IsNullOrEmpty(name)) throw new ArgumentException($"{field} is empty: an id set needs a name", field);
        if (name.Length > FilterLimits.MaxIdSetNameLength)
            throw new ArgumentException($"{field} has {name.Length} characters, more than the limit of {FilterLimits.MaxIdSetNameLength}", field);
        foreach (char c in name)
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
                throw new ArgumentException($"{field} '{name}' has the character '{c}': an id set's name has ASCII letters, digits, '-', '_' and '.' only", field);
    }
}
