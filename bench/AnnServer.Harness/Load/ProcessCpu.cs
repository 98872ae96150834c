using System.Globalization;

namespace AnnServer.Harness.Load;

/// <summary>
/// A process's CPU time (user + system) as Linux accounts it in /proc/PID/stat, read from outside the process, so that
/// the server and the client are measured the same way whatever runtime they use. The kernel counts in clock ticks
/// (100 per second): over a 10 s run of thousands of calls that is well under 1 % of the total.
/// </summary>
public static class ProcessCpu
{
    private const double SecondsPerTick = 0.01; // USER_HZ is 100 on every Linux ABI .NET runs on

    /// <summary>User + system seconds of <paramref name="pid"/> so far, or null when it cannot be read.</summary>
    public static double? Seconds(int pid)
    {
        string text;
        try
        {
            text = File.ReadAllText($"/proc/{pid}/stat");
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
        // The command name (field 2) is in parentheses and may hold spaces: count fields after its closing one.
        int close = text.LastIndexOf(')');
        if (close < 0) return null;
        string[] fields = text[(close + 2)..].Split(' ');
        // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
        if (fields.Length < 13
            || !long.TryParse(fields[11], NumberStyles.None, CultureInfo.InvariantCulture, out long user)
            || !long.TryParse(fields[12], NumberStyles.None, CultureInfo.InvariantCulture, out long system))
            return null;
        return (user + system) * SecondsPerTick;
    }
}
