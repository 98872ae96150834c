using Spectre.Console;
using Spectre.Console.Rendering;

namespace AnnServer.Build.Progress;

/// <summary>A live Spectre.Console bar per stage: description, bar, percentage, count, rate, elapsed time, ETA.</summary>
internal sealed class LiveProgressDisplay(IAnsiConsole console) : ProgressDisplay
{
    public override T Run<T>(string stage, long total, string unit, Func<IProgress<long>, T> work)
    {
        var progress = console.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(
                new TaskDescriptionColumn { Alignment = Justify.Left },
                new ProgressBarColumn(),
                new PercentageColumn(),
                new CountColumn(),
                new RateColumn(),
                new ElapsedTimeColumn(),
                new RemainingTimeColumn(),
                new SpinnerColumn());
        return progress.Start(context =>
        {
            var task = context.AddTask(stage.PadRight(8), maxValue: Math.Max(total, 1));
            task.Tag = unit;
            task.IsIndeterminate = total <= 0;
            var result = work(new TaskProgress(task));
            task.IsIndeterminate = false;
            task.Value = task.MaxValue;
            task.StopTask();
            return result;
        });
    }

    private sealed class TaskProgress(ProgressTask task) : IProgress<long>
    {
        private readonly Lock _lock = new();
        private long _done;

        public void Report(long value)
        {
            // Several threads may report, out of order: the bar only moves forward.
            lock (_lock)
            {
                if (value <= _done) return;
                _done = value;
                task.Value = value;
            }
        }
    }

    /// <summary>"12,288/60,000 rows".</summary>
    private sealed class CountColumn : ProgressColumn
    {
        public override IRenderable Render(RenderOptions options, ProgressTask task, TimeSpan deltaTime) =>
            task.IsIndeterminate || task.Tag is not string { Length: > 0 }
                ? Text.Empty
                : new Text($"{HumanFormat.Count((long)task.Value)}/{HumanFormat.Count((long)task.MaxValue)} {task.Tag}");
    }

    /// <summary>"1,704 vectors/s", from Spectre's moving estimate of the speed.</summary>
    private sealed class RateColumn : ProgressColumn
    {
        public override IRenderable Render(RenderOptions options, ProgressTask task, TimeSpan deltaTime) =>
            task.Speed is double speed && !task.IsIndeterminate
                ? new Text($"{HumanFormat.Rate(speed)} {task.Tag}/s")
                : Text.Empty;
    }
}
