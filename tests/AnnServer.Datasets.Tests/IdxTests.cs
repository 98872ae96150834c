using System.IO.Compression;

namespace AnnServer.Datasets.Tests;

public sealed class IdxTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void ImagesOf28By28BecomeRowsOf784FloatsFrom0To255(bool gzip)
    {
        var pixels = Synthetic.Bytes(12 * 28 * 28);
        string path = _folder.File(gzip ? "train-images-idx3-ubyte.gz" : "train-images-idx3-ubyte");
        Idx.WriteUInt8(path, pixels, [12, 28, 28], gzip);

        var loaded = VectorLoader.Load(path);

        Assert.Equal(VectorFormat.Idx, loaded.Format);
        Assert.Equal(12, loaded.Vectors.Count);
        Assert.Equal(784, loaded.Vectors.Dimension);
        Assert.Equal(pixels.Select(p => (float)p).ToArray(), loaded.Vectors.Data);
    }

    [Fact]
    public void Float32RoundTrips()
    {
        var vectors = Synthetic.Vectors(9, 5);
        string path = _folder.File("v.idx.gz");
        Idx.WriteFloat32(path, vectors, gzip: true);
        Assert.Equal(vectors.Data, VectorLoader.Load(path).Vectors.Data);
    }

    [Fact]
    public void SingleAxisFileIsTakenForALabelFile()
    {
        string path = _folder.File("train-labels-idx1-ubyte.gz");
        Idx.WriteUInt8(path, Synthetic.Bytes(10), [10], gzip: true);
        var error = Assert.Throws<InvalidDataException>(() => VectorLoader.Load(path));
        Assert.Equal($"{path}: the IDX file has a single axis (a label file?); vectors need at least two axes (rows, components)", error.Message);
    }

    [Fact]
    public void WrongMagicIsReported()
    {
        string path = _folder.File("v.idx");
        File.WriteAllBytes(path, [0x12, 0x34, 0x08, 0x03, 0, 0, 0, 0]);
        var error = Assert.Throws<InvalidDataException>(() => VectorLoader.Load(path));
        Assert.StartsWith($"{path}: not an IDX file (header bytes 12 34 08 03;", error.Message);
    }

    [Fact]
    public void TruncatedRawFileIsReportedBeforeReading()
    {
        string path = _folder.File("v.idx");
        Idx.WriteUInt8(path, Synthetic.Bytes(4 * 6), [4, 6], gzip: false);
        using (var stream = File.OpenWrite(path)) stream.SetLength(stream.Length - 1);
        var error = Assert.Throws<InvalidDataException>(() => VectorReader.Open(path));
        Assert.Equal($"{path}: truncated: the header announces 4 rows of 6 values (36 bytes in all) but the file has 35 bytes", error.Message);
    }

    [Fact]
    public void TruncatedGzipFileNamesTheLastWholeRow()
    {
        string path = _folder.File("v.idx.gz");
        // A valid gzip stream whose content stops after 2 of the 4 announced rows.
        var raw = _folder.File("raw.idx");
        Idx.WriteUInt8(raw, Synthetic.Bytes(4 * 6), [4, 6], gzip: false);
        var bytes = File.ReadAllBytes(raw)[..(12 + 2 * 6)];
        using (var gz = new GZipStream(File.Create(path), CompressionLevel.Fastest)) gz.Write(bytes);

        var error = Assert.Throws<InvalidDataException>(() => VectorLoader.Load(path));

        Assert.Equal($"{path}: the file ends after 2 rows but its header announces 4", error.Message);
    }

    [Fact]
    public void DamagedGzipStreamIsReported()
    {
        string path = _folder.File("v.idx.gz");
        File.WriteAllBytes(path, [0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 0xff, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3]);
        var error = Assert.Throws<InvalidDataException>(() => VectorLoader.Load(path));
        Assert.Contains("gzip stream is damaged", error.Message);
        Assert.StartsWith(path, error.Message);
    }
}
