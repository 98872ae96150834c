namespace AnnServer.Build.Progress;

/// <summary>
/// Shows the progress of one stage of a command (reading, building, saving): a live Spectre.Console bar on a terminal,
/// plain periodic lines otherwise. Stages run one after another; each keeps its final line on screen.
/// </summary>
internal abstract class ProgressDisplay
{
    public static ProgressDisplay For(ToolConsole console) =>
        console.Interactive ? new LiveProgressDisplay(console.Ansi) : new PlainProgressDisplay(console.Out, TimeSpan.FromSeconds(2));

    /// <summary>Runs <paramref name="work"/>, which reports how many <paramref name="unit"/> are done out of
    /// <paramref name="total"/> (0 when the stage cannot tell: a spinner, no bar). Reports may come from any thread.</summary>
    public abstract T Run<T>(string stage, long total, string unit, Func<IProgress<long>, T> work);

    public void Run(string stage, long total, string unit, Action<IProgress<long>> work) =>
        Run<object?>(stage, total, unit, progress =>
        {
            work(progress);
            return null;
        });
}

/// <summary>Adapts the engine's <c>IProgress&lt;int&gt;</c> to a stage's <c>IProgress&lt;long&gt;</c>.</summary>
internal sealed class IntProgress(IProgress<long> inner) : IProgress<int>
{
    public void Report(int value) => inner.Report(value);
}
