using Microsoft.Extensions.Options;

namespace AnnServer.Collections;

/// <summary>Checks <see cref="PersistenceOptions"/> when the server starts. Each failure names the option as it is typed.</summary>
public sealed class PersistenceOptionsValidator : IValidateOptions<PersistenceOptions>
{
    public ValidateOptionsResult Validate(string? name, PersistenceOptions options)
    {
        var failures = new ValidateOptionsResultBuilder();
        if (!Enum.IsDefined(options.Durability))
            failures.AddError($"--durability must be strict or relaxed, got {(int)options.Durability}");
        if (options.RelaxedCommitMs is < 1 or > 10_000)
            failures.AddError($"--relaxed-commit-ms must be between 1 and 10000, got {options.RelaxedCommitMs}");
        if (options.CheckpointLogBytes < 0)
            failures.AddError($"--checkpoint-log-bytes must be 0 (never by size) or more, got {options.CheckpointLogBytes}");
        if (options.CheckpointRecords < 0)
            failures.AddError($"--checkpoint-records must be 0 (never by count) or more, got {options.CheckpointRecords}");
        if (options.BackgroundReplayPoints < 0)
            failures.AddError($"--background-replay-points must be 0 (always replay before serving) or more, got {options.BackgroundReplayPoints}");
        if (!(options.CompactDeletedFraction >= 0 && options.CompactDeletedFraction < 1))
            failures.AddError($"--compact-deleted-fraction must be 0 (never) or a fraction below 1, got {options.CompactDeletedFraction}");
        if (options.CompactionThreads < 1 || options.CompactionThreads > Environment.ProcessorCount)
            failures.AddError($"--compaction-threads must be between 1 and the number of cores ({Environment.ProcessorCount}), " +
                              $"got {options.CompactionThreads}");
        return failures.Build();
    }
}
