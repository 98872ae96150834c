using System.CommandLine.Parsing;
using System.Globalization;

namespace AnnServer.Harness.Cli;

/// <summary>Parsers for option values that are not plain numbers: lists of ef, durations.</summary>
public static class CliParsers
{
    /// <summary>"10,20,40" → [10, 20, 40]; every value a positive integer.</summary>
    public static bool TryParsePositiveList(string text, out int[] values, out string error)
    {
        var parts = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        values = new int[parts.Length];
        error = "";
        if (parts.Length == 0)
        {
            error = $"'{text}' is empty; give a comma-separated list such as 10,20,40";
            return false;
        }
        for (int i = 0; i < parts.Length; i++)
        {
            if (!int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out values[i]) || values[i] <= 0)
            {
                error = $"'{parts[i]}' in '{text}' is not a positive integer";
                return false;
            }
        }
        return true;
    }

    /// <summary>"30s", "2m", "500ms", "1h", "1.5s", or a bare number of seconds.</summary>
    public static bool TryParseDuration(string text, out TimeSpan duration) => TryParseDuration(text, allowZero: false, out duration);

    private static bool TryParseDuration(string text, bool allowZero, out TimeSpan duration)
    {
        duration = default;
        text = text.Trim().ToLowerInvariant();
        (string number, double scale) = text switch
        {
            _ when text.EndsWith("ms", StringComparison.Ordinal) => (text[..^2], 0.001),
            _ when text.EndsWith('s') => (text[..^1], 1.0),
            _ when text.EndsWith('m') => (text[..^1], 60.0),
            _ when text.EndsWith('h') => (text[..^1], 3600.0),
            _ => (text, 1.0),
        };
        if (!double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out double value)
            || !double.IsFinite(value) || value < 0 || (value == 0 && !allowZero))
            return false;
        duration = TimeSpan.FromSeconds(value * scale);
        return true;
    }

    /// <summary>A System.CommandLine custom parser for a comma-separated list of positive integers.</summary>
    public static int[] PositiveList(ArgumentResult result)
    {
        string text = string.Join(",", result.Tokens.Select(t => t.Value));
        if (TryParsePositiveList(text, out var values, out string error)) return values;
        result.AddError($"{OptionName(result)}: {error}");
        return [];
    }

    /// <summary>A System.CommandLine custom parser for a duration such as 30s.</summary>
    public static TimeSpan Duration(ArgumentResult result)
    {
        string text = result.Tokens.Count > 0 ? result.Tokens[0].Value : "";
        if (TryParseDuration(text, out var duration)) return duration;
        result.AddError($"{OptionName(result)}: '{text}' is not a duration; use for example 30s, 2m, 500ms");
        return TimeSpan.Zero;
    }

    /// <summary>As <see cref="Duration"/>, and also zero ("0s"): for a warm-up that may be left out.</summary>
    public static TimeSpan DurationOrZero(ArgumentResult result)
    {
        string text = result.Tokens.Count > 0 ? result.Tokens[0].Value : "";
        if (TryParseDuration(text, allowZero: true, out var duration)) return duration;
        result.AddError($"{OptionName(result)}: '{text}' is not a duration; use for example 0s, 30s, 2m, 500ms");
        return TimeSpan.Zero;
    }

    private static string OptionName(ArgumentResult result) =>
        result.Parent is OptionResult option ? option.Option.Name : result.Argument.Name;
}
