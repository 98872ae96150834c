using AnnServer.Cluster.Replication;
using Xunit;

namespace AnnServer.Cluster.Tests;

/// <summary>The trim rule (docs/cluster.md, "NATS disk"): the least of the stored snapshot's sequence and every assigned
/// replica's durable sequence; nothing without a snapshot or while a replica has not reported.</summary>
public sealed class StreamTrimPointTests
{
    [Fact]
    public void TheTrimPointIsTheLeastOfTheSnapshotAndEveryReplicasDurableSequence()
    {
        Assert.Equal(40UL, StreamTrimPoint.Compute(50, [70, 40, 90]));
        Assert.Equal(50UL, StreamTrimPoint.Compute(50, [70, 60]));
    }

    [Fact]
    public void NothingIsTrimmedWithoutASnapshot()
    {
        Assert.Null(StreamTrimPoint.Compute(null, [70, 60]));
        Assert.Null(StreamTrimPoint.Compute(0, [70, 60]));
    }

    [Fact]
    public void NothingIsTrimmedWhileAnAssignedReplicaHasNotReportedADurableSequence()
    {
        Assert.Null(StreamTrimPoint.Compute(50, [70, null]));
        Assert.Null(StreamTrimPoint.Compute(50, [70, 0]));
    }
}
