namespace AnnServer.Datasets.Tests;

public sealed class TexmexTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void FvecsRoundTrips()
    {
        var vectors = Synthetic.Vectors(50, 7);
        string path = _folder.File("v.fvecs");
        Texmex.WriteFvecs(path, vectors);

        var read = Texmex.ReadFvecs(path);

        Assert.Equal(50, read.Count);
        Assert.Equal(7, read.Dimension);
        Assert.Equal(vectors.Data, read.Data);
    }

    [Fact]
    public void FvecsReadHonoursMaxRows()
    {
        string path = _folder.File("v.fvecs");
        Texmex.WriteFvecs(path, Synthetic.Vectors(50, 7));
        Assert.Equal(10, Texmex.ReadFvecs(path, maxRows: 10).Count);
    }

    [Fact]
    public void BvecsRoundTripsAsZeroTo255()
    {
        var bytes = Synthetic.Bytes(20 * 16);
        string path = _folder.File("v.bvecs");
        Texmex.WriteBvecs(path, bytes, 16);

        var read = Texmex.ReadBvecs(path);

        Assert.Equal(20, read.Count);
        Assert.Equal(16, read.Dimension);
        Assert.Equal(bytes.Select(b => (float)b).ToArray(), read.Data);
    }

    [Fact]
    public void IvecsRoundTrips()
    {
        int[][] rows = [[1, 2, 3], [4, 5, 6], [-7, int.MaxValue, 0]];
        string path = _folder.File("gt.ivecs");
        Texmex.WriteIvecs(path, rows);
        Assert.Equal(rows, Texmex.ReadIvecs(path));
    }

    [Fact]
    public void RowOfWrongDimensionIsRejectedWithItsNumber()
    {
        string path = _folder.File("bad.fvecs");
        Synthetic.WriteRawFvecs(path, [1, 2, 3], [4, 5, 6], [7, 8], [9, 10, 11]);

        var error = Assert.Throws<InvalidRowException>(() => VectorLoader.Load(path));

        Assert.Equal($"{path}: row 2 has dimension 2, expected 3 (the dimension of row 0)", error.Message);
        Assert.Equal(2, error.Row);
        Assert.Equal(InvalidRowReason.WrongDimension, error.Reason);
    }

    [Fact]
    public void RowsOfWrongDimensionAreSkippedAndCountedWhenAsked()
    {
        string path = _folder.File("bad.fvecs");
        Synthetic.WriteRawFvecs(path, [1, 2, 3], [4, 5], [6, 7, 8, 9], [10, 11, 12]);

        var loaded = VectorLoader.Load(path, new VectorLoadOptions { SkipInvalid = true });

        Assert.Equal(2, loaded.Vectors.Count);
        Assert.Equal(new float[] { 1, 2, 3, 10, 11, 12 }, loaded.Vectors.Data);
        Assert.Equal(4, loaded.SourceRows);
        Assert.Equal(2, loaded.SkippedWrongDimension);
        Assert.Equal(new long[] { 1, 2 }, loaded.SkippedRows);
    }

    [Fact]
    public void TruncatedRowIsNamed()
    {
        string path = _folder.File("cut.fvecs");
        Texmex.WriteFvecs(path, Synthetic.Vectors(3, 4));
        using (var stream = File.OpenWrite(path)) stream.SetLength(stream.Length - 5);

        var error = Assert.Throws<InvalidDataException>(() => VectorLoader.Load(path));

        Assert.Equal($"{path}: row 2 is truncated (the file ends 11 bytes into its 16 bytes of values)", error.Message);
    }

    [Fact]
    public void ImpossibleDimensionSaysTheFileIsNotTexmex()
    {
        string path = _folder.File("text.fvecs");
        File.WriteAllText(path, "this is text, not vectors");
        var error = Assert.Throws<InvalidDataException>(() => VectorLoader.Load(path));
        Assert.Contains("row 0 declares dimension", error.Message);
        Assert.Contains("is this really a fvecs file?", error.Message);
    }
}
