using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Parsing;
using System.Text;
using AnnServer.Cluster;
using AnnServer.Collections;

namespace AnnServer.Settings;

/// <summary>
/// The command line of <c>annserver</c>, parsed with System.CommandLine: an option per <see cref="Setting"/>
/// (<c>--max-k 100</c> or <c>--max-k=100</c>; a flag such as <c>--insecure</c> takes no value, <c>--insecure=false</c>
/// also works), <c>--snapshot NAME=PATH</c> (repeatable), the <c>healthcheck</c> command (same options) and
/// <c>--help</c>. An option given twice takes its last value, so that a script can append overrides. What the line
/// gives becomes the top layer of <see cref="ServerSettings.Read"/>; what it does not give is left to the layers below,
/// which is why no option has a System.CommandLine default. <c>new-key</c> and <c>hash-key</c> are parsed by
/// Hosting/ApiKeyCommands.cs before this.
/// </summary>
public static class ServerCommandLine
{
    /// <summary>The concerns in the order --help lists them, with their headings.</summary>
    private static readonly (Type Options, string Heading)[] Concerns =
    [
        (typeof(ServerOptions), "server"),
        (typeof(LimitOptions), "limits"),
        (typeof(SecurityOptions), "security"),
        (typeof(PersistenceOptions), "durability, checkpoints and compaction"),
        (typeof(TracingOptions), "tracing (OpenTelemetry, with --otlp-endpoint)"),
        (typeof(ClusterOptions), "cluster (with --cluster-nats)"),
    ];

    /// <summary>Parses <paramref name="args"/>: what to do, and the settings given as configuration entries
    /// (<c>AnnServer:MaxK</c> = <c>100</c>, <c>AnnServer:Snapshots:NAME</c> = PATH).</summary>
    /// <exception cref="ServerConfigurationException">an unknown option or argument, an option without its value, or a
    /// malformed value; the message names the first.</exception>
    public static (ServerMode Mode, IReadOnlyDictionary<string, string?> Values) Parse(string[] args)
    {
        var options = ServerSettings.All.Select(setting => (Setting: setting, Option: CreateOption(setting))).ToList();
        var snapshots = new Option<string[]>("--snapshot") { Recursive = true, HelpName = "NAME=PATH" };
        var healthCheck = new Command("healthcheck", "exit 0 when the server on the configured port is SERVING");
        var root = new RootCommand("annserver: approximate nearest-neighbour search over gRPC") { healthCheck, snapshots };
        foreach ((_, Option<string> option) in options)
            root.Options.Add(option);
        // Neither is an option of annserver's: --version would be a new one, and [suggest] a new kind of argument.
        root.Options.Remove(root.Options.OfType<VersionOption>().Single());
        root.Directives.Clear();
        // The root command is the server itself, which AnnServerHost runs; without an action of its own System.CommandLine
        // would ask for a subcommand.
        root.SetAction(_ => 0);

        // No response files: an argument starting with '@' (a path, a key) is an argument.
        ParseResult parse = root.Parse(args, new ParserConfiguration { ResponseFileTokenReplacer = null });
        if (parse.Action is HelpAction)
            return (ServerMode.Help, new Dictionary<string, string?>());
        if (parse.UnmatchedTokens.Count > 0)
            throw new ServerConfigurationException(Unexpected(parse.UnmatchedTokens[0]));
        if (parse.Errors.Count > 0)
            throw new ServerConfigurationException(Describe(parse.Errors[0]));

        var values = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach ((Setting setting, Option<string> option) in options)
        {
            if (parse.GetResult(option) is not null)
                values[setting.ConfigurationKey] = parse.GetValue(option);
        }
        foreach (string snapshot in parse.GetValue(snapshots) ?? [])
        {
            (string key, string? path) = ServerSettings.ParseSnapshot(snapshot, "--snapshot");
            if (!values.TryAdd(key, path))
                throw new ServerConfigurationException($"--snapshot: collection '{snapshot[..snapshot.IndexOf('=')]}' is given twice");
        }
        return (parse.CommandResult.Command == healthCheck ? ServerMode.HealthCheck : ServerMode.Serve, values);
    }

    /// <summary>The text of <c>annserver --help</c>.</summary>
    public static string HelpText()
    {
        var text = new StringBuilder();
        text.AppendLine("annserver: approximate nearest-neighbour search over gRPC (API: protos/ann/v1/*.proto, docs/api.md)");
        text.AppendLine();
        text.AppendLine("usage: annserver [options]              run the server");
        text.AppendLine("       annserver healthcheck [options]  exit 0 when the server on the configured port is SERVING");
        text.AppendLine("       annserver new-key ROLE           print a new random API key and its keys-file line (read, write, admin)");
        text.AppendLine("       annserver hash-key [KEY]         print the SHA-256 of KEY (read from stdin when not given) for a keys file");
        text.AppendLine();
        text.AppendLine("options (environment variable; default):");
        foreach ((Type concern, string heading) in Concerns)
        {
            text.AppendLine();
            text.AppendLine($" {heading}:");
            foreach (Setting setting in ServerSettings.All.Where(s => s.OptionsType == concern))
            {
                text.AppendLine($"  {setting.OptionName,-22} {setting.Help}");
                text.AppendLine($"  {"",-22} ({setting.EnvironmentVariable}; {setting.DefaultText})");
            }
            if (concern == typeof(ServerOptions))
            {
                text.AppendLine($"  {"--snapshot NAME=PATH",-22} serve the ann-build snapshot PATH as collection NAME (repeatable); it is");
                text.AppendLine($"  {"",-22} copied into the data directory unless NAME is there already ({ServerSettings.SnapshotsVariable}=\"a=/x;b=/y\")");
            }
        }
        text.AppendLine();
        text.AppendLine($"The same settings can be given in appsettings.json under \"{ServerSettings.Section}\" (MaxK, DataDir, ...).");
        return text.ToString();
    }

    private static Option<string> CreateOption(Setting setting) => new(setting.OptionName)
    {
        Description = setting.Help,
        // Also after healthcheck, which probes the server these settings describe.
        Recursive = true,
        // One value per occurrence, any number of occurrences (the last wins); a flag needs no value.
        Arity = setting.IsFlag ? ArgumentArity.ZeroOrMore : ArgumentArity.OneOrMore,
        CustomParser = result => ParseValue(setting, result),
    };

    private static string? ParseValue(Setting setting, ArgumentResult result)
    {
        if (result.Tokens.Count == 0)
            return "true"; // a flag given bare: the arity lets no other option get here without a value
        try
        {
            return setting.Parse(result.Tokens[^1].Value, setting.OptionName);
        }
        catch (ServerConfigurationException e)
        {
            result.AddError(e.Message);
            return null;
        }
    }

    private static string Unexpected(string token) => token.StartsWith("--", StringComparison.Ordinal)
        ? $"unknown option {token.Split('=')[0]} (see --help)"
        : $"unexpected argument '{token}'; options look like --name value (see --help)";

    private static string Describe(ParseError error) => error.SymbolResult is OptionResult { Tokens.Count: 0 } missing
        ? $"{missing.Option.Name} needs a value"
        : error.Message;
}
