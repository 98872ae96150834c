namespace AnnServer.Collections;

/// <summary>The rule for collection names. A name is also a folder name under the data directory, so the rule keeps it
/// safe on every file system: ASCII letters, digits, '-' and '_', 1 to 64 characters (no '.', no separators).</summary>
public static class CollectionName
{
    public const int MaxLength = 64;

    /// <summary>Null when <paramref name="name"/> is valid, otherwise a message saying what is wrong with it.</summary>
    public static string? Problem(string? name)
    {
        if (string.IsNullOrEmpty(name))
            return "is empty";
        if (name.Length > MaxLength)
            return $"has {name.Length} characters, at most {MaxLength} are allowed";
        foreach (char c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
                return $"'{name}' contains '{c}': only ASCII letters, digits, '-' and '_' are allowed";
        }
        return null;
    }

    public static bool IsValid(string? name) => Problem(name) is null;
}
