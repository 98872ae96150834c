namespace AnnServer.Storage.Tests;

/// <summary>The two halves of an append: <see cref="CollectionLog.EnqueueAsync"/> fixes the order,
/// <see cref="CollectionLog.WaitUntilDurableAsync"/> waits for the disk.</summary>
public class EnqueueThenWaitTests
{
    private const int Dimension = 8;

    [Fact]
    public async Task EnqueuedRecordsGetIncreasingPositionsAndOneWaitCoversTheEarlierOnes()
    {
        using var folder = new TempFolder();
        await using var log = CollectionLog.Open(folder.Path);
        var positions = new List<long>();
        for (int i = 0; i < 10; i++)
            positions.Add(await log.EnqueueAsync(Records.Upsert(i, 1, Dimension)));

        await log.WaitUntilDurableAsync(positions[^1]);

        Assert.True(positions.Zip(positions.Skip(1)).All(p => p.First < p.Second), "positions must increase in enqueue order");
        Assert.True(log.CommittedPosition >= positions[^1]);
    }

    [Fact]
    public async Task WaitingForACommittedPositionReturnsAtOnceEvenAfterDispose()
    {
        using var folder = new TempFolder();
        var log = CollectionLog.Open(folder.Path);
        long position = await log.EnqueueAsync(Records.Upsert(1, 1, Dimension));

        await log.DisposeAsync(); // its final commit covers every enqueued record
        ValueTask wait = log.WaitUntilDurableAsync(position);

        Assert.True(wait.IsCompletedSuccessfully);
    }

    [Fact]
    public async Task RelaxedEnqueuesBecomeDurableWithTheTimer()
    {
        using var folder = new TempFolder();
        await using var log = CollectionLog.Open(folder.Path, new CollectionLogOptions { Durability = LogDurability.Relaxed });
        long position = await log.EnqueueAsync(Records.Upsert(1, 1, Dimension));

        await log.WaitUntilDurableAsync(position).AsTask().WaitAsync(TimeSpan.FromSeconds(10));

        Assert.True(log.CommittedPosition >= position);
    }
}
