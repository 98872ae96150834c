using Spectre.Console;

namespace AnnServer.Build;

/// <summary>Where a command writes: results and progress to <see cref="Out"/>, the one-line error to <see cref="Error"/>.
/// A live progress bar is drawn only when <see cref="Interactive"/> (a terminal); otherwise progress is plain periodic lines.</summary>
internal sealed class ToolConsole
{
    public ToolConsole(TextWriter output, TextWriter error, bool interactive)
    {
        Out = output;
        Error = error;
        Interactive = interactive;
        Ansi = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(output),
            Interactive = interactive ? InteractionSupport.Yes : InteractionSupport.No,
            Ansi = interactive ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = interactive ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
        });
    }

    public TextWriter Out { get; }
    public TextWriter Error { get; }
    public bool Interactive { get; }
    public IAnsiConsole Ansi { get; }

    /// <summary>Whether the real console can show a live display: a terminal on stdout that is not "dumb".</summary>
    public static bool ConsoleIsInteractive() =>
        !Console.IsOutputRedirected
        && Environment.GetEnvironmentVariable("TERM") is not "dumb"
        && string.IsNullOrEmpty(Environment.GetEnvironmentVariable("CI"));
}
