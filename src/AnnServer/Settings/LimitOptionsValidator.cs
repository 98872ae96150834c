using AnnServer.Core;
using Microsoft.Extensions.Options;

namespace AnnServer.Settings;

/// <summary>Checks <see cref="LimitOptions"/> when the server starts. Each failure names the option as it is typed.</summary>
public sealed class LimitOptionsValidator : IValidateOptions<LimitOptions>
{
    public ValidateOptionsResult Validate(string? name, LimitOptions options)
    {
        var failures = new ValidateOptionsResultBuilder();
        if (options.MaxK < 1)
            failures.AddError($"--max-k must be at least 1, got {options.MaxK}");
        if (options.MaxEf < options.MaxK)
            failures.AddError($"--max-ef ({options.MaxEf}) must be at least --max-k ({options.MaxK})");
        if (options.MaxEf > HnswIndex.MaxEf)
            failures.AddError($"--max-ef must be at most {HnswIndex.MaxEf} (the largest ef the index searches with), got {options.MaxEf}");
        if (options.DefaultEf < 1 || options.DefaultEf > options.MaxEf)
            failures.AddError($"--default-ef must be between 1 and --max-ef ({options.MaxEf}), got {options.DefaultEf}");
        if (options.MaxBatchQueries < 1)
            failures.AddError($"--max-batch-queries must be at least 1, got {options.MaxBatchQueries}");
        if (options.MaxGetIds < 1)
            failures.AddError($"--max-get-ids must be at least 1, got {options.MaxGetIds}");
        if (options.MaxPayloadBytes < 1 || options.MaxPayloadBytes > Storage.LogRecord.MaxPayloadBytes)
            failures.AddError($"--max-payload-bytes must be between 1 and {Storage.LogRecord.MaxPayloadBytes} (the log's limit), got {options.MaxPayloadBytes}");
        if (options.MaxMessageBytes < 4096)
            failures.AddError($"--max-message-bytes must be at least 4096, got {options.MaxMessageBytes}");
        if (options.MaxCollections < 1)
            failures.AddError($"--max-collections must be at least 1, got {options.MaxCollections}");
        if (options.MaxPointsPerCollection < 0)
            failures.AddError($"--max-points-per-collection must be 0 (no limit) or more, got {options.MaxPointsPerCollection}");
        if (options.MemoryBudgetBytes < 0)
            failures.AddError($"--memory-budget-bytes must be 0 (automatic) or more, got {options.MemoryBudgetBytes}");
        if (options.MaxConcurrentSearches < 1)
            failures.AddError($"--max-concurrent-searches must be at least 1, got {options.MaxConcurrentSearches}");
        if (options.MaxQueuedSearches < 0)
            failures.AddError($"--max-queued-searches must be 0 or more, got {options.MaxQueuedSearches}");
        if (options.MaxStreamInFlight < 0 || options.MaxStreamInFlight > 4096)
            failures.AddError($"--max-stream-in-flight must be 0 (max(--max-batch-queries, 4 per core)) or 1 to 4096, got {options.MaxStreamInFlight}");
        if (options.MaxStreamMessages < 1 || options.MaxStreamMessages > 4096)
            failures.AddError($"--max-stream-messages must be between 1 and 4096, got {options.MaxStreamMessages}");
        if (options.MaxSearchStreams < 0)
            failures.AddError($"--max-search-streams must be 0 (SearchStream refused) or more, got {options.MaxSearchStreams}");
        if (options.MaxIdSets < 0)
            failures.AddError($"--max-id-sets must be 0 (id sets refused) or more, got {options.MaxIdSets}");
        if (options.MaxIdSetBytes < 0)
            failures.AddError($"--max-id-set-bytes must be 0 (id sets refused) or more, got {options.MaxIdSetBytes}");
        if (options.MaxIdsPerSet < 1)
            failures.AddError($"--max-ids-per-set must be at least 1, got {options.MaxIdsPerSet}");
        return failures.Build();
    }
}
