namespace AnnServer.Datasets.Tests;

public sealed class ValidationTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Theory]
    [InlineData(float.NaN, "NaN")]
    [InlineData(float.PositiveInfinity, "+infinity")]
    [InlineData(float.NegativeInfinity, "-infinity")]
    public void NonFiniteComponentIsRejectedWithRowAndComponent(float bad, string described)
    {
        string path = _folder.File("v.npy");
        var vectors = Synthetic.Vectors(5, 3);
        vectors.Data[3 * 3 + 1] = bad;
        Npy.WriteFloat32(path, vectors);

        var error = Assert.Throws<InvalidRowException>(() => VectorLoader.Load(path));

        Assert.Equal($"{path}: row 3 component 1 is {described}; vectors must be finite", error.Message);
        Assert.Equal(InvalidRowReason.NonFinite, error.Reason);
    }

    [Fact]
    public void NonFiniteRowsAreSkippedAndCountedWhenAsked()
    {
        string path = _folder.File("v.npy");
        var vectors = Synthetic.Vectors(6, 3);
        vectors.Data[1 * 3] = float.NaN;
        vectors.Data[4 * 3 + 2] = float.PositiveInfinity;
        Npy.WriteFloat32(path, vectors);

        var loaded = VectorLoader.Load(path, new VectorLoadOptions { SkipInvalid = true });

        Assert.Equal(4, loaded.Vectors.Count);
        Assert.Equal(2, loaded.SkippedNonFinite);
        Assert.Equal(new long[] { 1, 4 }, loaded.SkippedRows);
        Assert.Equal(vectors.Row(5).ToArray(), loaded.Vectors.Row(3).ToArray());
    }

    [Fact]
    public void FileWhoseRowsAreAllInvalidIsAnError()
    {
        string path = _folder.File("v.npy");
        Npy.WriteFloat32(path, new VectorSet([float.NaN, 1, 2, float.NaN], 2, 2));
        var error = Assert.Throws<InvalidDataException>(() => VectorLoader.Load(path, new VectorLoadOptions { SkipInvalid = true }));
        Assert.Equal($"{path}: all 2 rows are invalid and were skipped", error.Message);
    }

    [Fact]
    public void FileWithoutRowsIsAnError()
    {
        string path = _folder.File("v.npy");
        Npy.WriteFloat32(path, new VectorSet([], 0, 8));
        var error = Assert.Throws<InvalidDataException>(() => VectorLoader.Load(path));
        Assert.Equal($"{path}: the file holds no vectors", error.Message);
    }

    [Fact]
    public void ProgressReachesTheRowCount()
    {
        string path = _folder.File("v.fvecs");
        Texmex.WriteFvecs(path, Synthetic.Vectors(3000, 2));
        var reports = new List<long>();

        VectorLoader.Load(path, progress: new SynchronousProgress(reports.Add));

        Assert.Equal(new long[] { 1024, 2048, 3000 }, reports);
    }

    [Fact]
    public void ReaderAnnouncesRowsAndDimensionBeforeReading()
    {
        string path = _folder.File("v.fvecs");
        Texmex.WriteFvecs(path, Synthetic.Vectors(30, 5));
        using var reader = VectorReader.Open(path);
        Assert.Equal(30, reader.ExpectedRows);
        Assert.Equal(5, reader.Dimension);
        Assert.Equal(0, reader.RowsRead);
    }

    [Fact]
    public void MaxRowsStopsEarly()
    {
        string path = _folder.File("v.fvecs");
        Texmex.WriteFvecs(path, Synthetic.Vectors(30, 5));
        var loaded = VectorLoader.Load(path, new VectorLoadOptions { MaxRows = 7 });
        Assert.Equal(7, loaded.Vectors.Count);
        Assert.Equal(7, loaded.SourceRows);
    }

    private sealed class SynchronousProgress(Action<long> report) : IProgress<long>
    {
        public void Report(long value) => report(value);
    }
}
