using System.Globalization;
using System.Reflection;

namespace AnnServer.Settings;

/// <summary>
/// One setting, spelled three ways: <c>--max-k 100</c> on the command line, <c>ANNSERVER_MAX_K=100</c> in the
/// environment and <c>"AnnServer": { "MaxK": 100 }</c> in appsettings.json. The last spelling, <see cref="Key"/>, is
/// also the property of <see cref="OptionsType"/> the setting binds to: its type says which values the setting takes,
/// and the value a new options object starts with is its default.
/// </summary>
public sealed class Setting
{
    private readonly PropertyInfo _property;

    private Setting(string name, Type optionsType, string help)
    {
        Name = name;
        OptionsType = optionsType;
        Help = help;
        Key = string.Concat(name.Split('-').Select(part => char.ToUpperInvariant(part[0]) + part[1..]));
        _property = optionsType.GetProperty(Key) is { CanWrite: true } property
            ? property
            : throw new ArgumentException($"{optionsType.Name} has no settable property {Key} for --{name}");
    }

    /// <summary>The setting <c>--<paramref name="name"/></c>, bound to the property of <typeparamref name="TOptions"/>
    /// of the same name (<c>max-k</c>: <c>MaxK</c>).</summary>
    public static Setting Of<TOptions>(string name, string help) where TOptions : class, new() => new(name, typeof(TOptions), help);

    /// <summary>The name in lower case with dashes: <c>max-k</c>.</summary>
    public string Name { get; }

    /// <summary>As typed on the command line: <c>--max-k</c>.</summary>
    public string OptionName => "--" + Name;

    /// <summary><c>ANNSERVER_MAX_K</c>.</summary>
    public string EnvironmentVariable => ServerSettings.EnvironmentPrefix + Name.ToUpperInvariant().Replace('-', '_');

    /// <summary>The key under the "AnnServer" section, and the property of <see cref="OptionsType"/>: <c>MaxK</c>.</summary>
    public string Key { get; }

    /// <summary>The full configuration key: <c>AnnServer:MaxK</c>.</summary>
    public string ConfigurationKey => ServerSettings.Section + ":" + Key;

    /// <summary>The options class of the setting's concern, e.g. <see cref="LimitOptions"/>.</summary>
    public Type OptionsType { get; }

    /// <summary>The line of --help.</summary>
    public string Help { get; }

    /// <summary>True for an on/off setting: on the command line it takes no value (<c>--insecure</c>), or one
    /// (<c>--insecure=false</c>).</summary>
    public bool IsFlag => _property.PropertyType == typeof(bool);

    /// <summary>The default as --help shows it.</summary>
    public string DefaultText => _property.GetValue(Activator.CreateInstance(OptionsType)) switch
    {
        null => "none",
        bool flag => flag ? "true" : "false",
        Enum value => value.ToString().ToLowerInvariant(),
        IFormattable number => number.ToString(null, CultureInfo.InvariantCulture),
        object text => text.ToString() ?? "none",
    };

    /// <summary>Checks a value given for the setting and returns it as the configuration binder reads it (numbers in
    /// the invariant culture, <c>yes</c> as <c>true</c>, <c>RELAXED</c> as <c>Relaxed</c>).</summary>
    /// <exception cref="ServerConfigurationException">not a value of the setting's type; the message names
    /// <paramref name="source"/>, where the value came from (<c>--port</c>, <c>ANNSERVER_PORT</c>, ...).</exception>
    public string Parse(string value, string source)
    {
        Type type = _property.PropertyType;
        if (type == typeof(string))
            return value;
        if (type == typeof(int))
            return int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out int integer)
                ? integer.ToString(CultureInfo.InvariantCulture) : throw Expected("an integer", value, source);
        if (type == typeof(long))
            return long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out long longInteger)
                ? longInteger.ToString(CultureInfo.InvariantCulture) : throw Expected("an integer", value, source);
        if (type == typeof(double))
            return double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out double number)
                ? number.ToString(CultureInfo.InvariantCulture) : throw Expected("a number", value, source);
        if (type == typeof(bool))
        {
            return value.Trim().ToLowerInvariant() switch
            {
                "true" or "1" or "yes" => "true",
                "false" or "0" or "no" => "false",
                _ => throw Expected("true or false", value, source),
            };
        }
        if (type.IsEnum)
        {
            string[] names = Enum.GetNames(type);
            return Array.Find(names, name => string.Equals(name, value.Trim(), StringComparison.OrdinalIgnoreCase))
                   ?? throw Expected(OneOf(names), value, source);
        }
        throw new InvalidOperationException($"{OptionsType.Name}.{Key}: settings of type {type.Name} are not supported");
    }

    private static ServerConfigurationException Expected(string what, string value, string source) =>
        new($"{source}: expected {what}, got '{value}'");

    /// <summary>"all, replica or router".</summary>
    private static string OneOf(string[] names)
    {
        string[] lower = names.Select(name => name.ToLowerInvariant()).ToArray();
        return lower.Length == 1 ? lower[0] : string.Join(", ", lower[..^1]) + " or " + lower[^1];
    }
}
