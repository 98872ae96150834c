using System.Collections.Frozen;

namespace AnnServer.Collections;

/// <summary>
/// The aliases at one moment: immutable, so that a lookup (every data-plane call that names an alias) reads one
/// reference and takes no lock; a change builds a new table and publishes it in one store
/// (<see cref="CollectionRegistry"/>, under its admin lock, after <see cref="AliasFile"/> has made it durable).
/// </summary>
public sealed class AliasTable
{
    public static readonly AliasTable Empty = new(FrozenDictionary<string, string>.Empty);

    private readonly FrozenDictionary<string, string> _targets;

    private AliasTable(FrozenDictionary<string, string> targets) => _targets = targets;

    public static AliasTable Of(IEnumerable<CollectionAlias> aliases) =>
        new(aliases.ToFrozenDictionary(alias => alias.Alias, alias => alias.Collection, StringComparer.Ordinal));

    public int Count => _targets.Count;

    /// <summary>The collection <paramref name="alias"/> names, or null when it is not an alias.</summary>
    public string? TargetOf(string alias) => _targets.GetValueOrDefault(alias);

    public bool Contains(string alias) => _targets.ContainsKey(alias);

    /// <summary>The aliases that name <paramref name="collection"/>, sorted.</summary>
    public List<string> AliasesOf(string collection)
    {
        var aliases = new List<string>();
        foreach (var (alias, target) in _targets)
            if (target == collection) aliases.Add(alias);
        aliases.Sort(StringComparer.Ordinal);
        return aliases;
    }

    /// <summary>Every alias, sorted by alias.</summary>
    public List<CollectionAlias> List()
    {
        var aliases = new List<CollectionAlias>(_targets.Count);
        foreach (var (alias, target) in _targets)
            aliases.Add(new CollectionAlias(alias, target));
        aliases.Sort((a, b) => string.CompareOrdinal(a.Alias, b.Alias));
        return aliases;
    }

    /// <summary>A new table with <paramref name="alias"/> naming <paramref name="collection"/> (added or switched).</summary>
    public AliasTable With(string alias, string collection)
    {
        var targets = new Dictionary<string, string>(_targets, StringComparer.Ordinal) { [alias] = collection };
        return new AliasTable(targets.ToFrozenDictionary(StringComparer.Ordinal));
    }

    /// <summary>A new table without <paramref name="alias"/>.</summary>
    public AliasTable Without(string alias)
    {
        var targets = new Dictionary<string, string>(_targets, StringComparer.Ordinal);
        targets.Remove(alias);
        return new AliasTable(targets.ToFrozenDictionary(StringComparer.Ordinal));
    }
}
