namespace AnnServer.Storage.Tests;

public class LogRecordTests
{
    [Fact]
    public void UpsertRejectsVectorsOfTheWrongLength()
    {
        var e = Assert.Throws<ArgumentException>(() => LogRecord.Upsert("c", 4, [1, 2], new float[7]));
        Assert.Contains("vectors holds 7 floats but 2 ids of dimension 4 need 8", e.Message);
    }

    [Fact]
    public void UpsertRejectsDimensionOutOfRange()
    {
        var e = Assert.Throws<ArgumentException>(() => LogRecord.Upsert("c", 0, [1], []));
        Assert.Contains("dimension must be between 1", e.Message);
    }

    [Fact]
    public void UpsertRejectsLabelsOfTheWrongCount()
    {
        var e = Assert.Throws<ArgumentException>(() => LogRecord.Upsert("c", 1, [1, 2], [0f, 1f], [[1]]));
        Assert.Contains("labels has 1 entries but there are 2 ids", e.Message);
    }

    [Fact]
    public void EmptyIdListIsRejected()
    {
        var e = Assert.Throws<ArgumentException>(() => LogRecord.Delete("c", []));
        Assert.Contains("at least one id", e.Message);
    }

    [Fact]
    public void CollectionNameLongerThan255Utf8BytesIsRejected()
    {
        var e = Assert.Throws<ArgumentException>(() => LogRecord.Delete(new string('é', 128), [1]));
        Assert.Contains("256 UTF-8 bytes, at most 255", e.Message);
    }

    [Fact]
    public void EmptyCollectionNameIsRejected()
    {
        var e = Assert.Throws<ArgumentException>(() => LogRecord.Delete("", [1]));
        Assert.Contains("collection name is empty", e.Message);
    }

    [Fact]
    public void VectorOfADeleteIsAnError()
    {
        Assert.Throws<InvalidOperationException>(() => LogRecord.Delete("c", [1]).Vector(0).Length);
    }
}
