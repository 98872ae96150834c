using AnnServer.Storage;

namespace AnnServer.Collections.Tests;

/// <summary>Vectors that enter as log or stream records get their one finite-value check (the index only asserts).</summary>
public sealed class CollectionVectorTests
{
    [Theory]
    [InlineData(float.NaN)]
    [InlineData(float.PositiveInfinity)]
    [InlineData(float.NegativeInfinity)]
    public void ARecordWithANonFiniteComponentIsRejectedNamingThePointAndItsId(float bad)
    {
        LogRecord record = LogRecord.Upsert("c", 2, [10, 11], [1, 2, 3, bad]);

        var e = Assert.Throws<ArgumentException>(() => CollectionVector.CheckFinite(record, "log record"));

        Assert.Contains("log record: point 1 (id 11) has a NaN or infinite component", e.Message);
    }

    [Fact]
    public void ARecordOfFiniteVectorsPasses() =>
        CollectionVector.CheckFinite(LogRecord.Upsert("c", 2, [10, 11], [1, 2, 3, float.MaxValue]), "log record");
}
