namespace AnnServer.Datasets.Tests;

public sealed class FormatDetectionTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Theory]
    [InlineData("base.fvecs", VectorFormat.Fvecs)]
    [InlineData("BASE.FVECS", VectorFormat.Fvecs)]
    [InlineData("bigann_base.bvecs", VectorFormat.Bvecs)]
    [InlineData("embeddings.npy", VectorFormat.Npy)]
    [InlineData("fashion-mnist-784-euclidean.hdf5", VectorFormat.Hdf5)]
    [InlineData("glove.h5", VectorFormat.Hdf5)]
    [InlineData("train-images-idx3-ubyte.gz", VectorFormat.Idx)]
    [InlineData("t10k-images-idx3-ubyte", VectorFormat.Idx)]
    [InlineData("vectors.idx", VectorFormat.Idx)]
    [InlineData("vectors.idx.gz", VectorFormat.Idx)]
    public void FormatIsToldByExtension(string name, VectorFormat expected)
    {
        Assert.True(VectorFormats.TryDetectFromName(name, out var format));
        Assert.Equal(expected, format);
    }

    [Fact]
    public void NpyIsToldByContentWhenTheNameSaysNothing()
    {
        string path = _folder.File("vectors.bin");
        Npy.WriteFloat32(path, Synthetic.Vectors(3, 4));
        Assert.Equal(VectorFormat.Npy, VectorFormats.Detect(path));
    }

    [Fact]
    public void Hdf5IsToldByContentWhenTheNameSaysNothing()
    {
        string path = _folder.File("vectors.dat");
        AnnBenchmarksHdf5.Write(path, Synthetic.Vectors(3, 4));
        Assert.Equal(VectorFormat.Hdf5, VectorFormats.Detect(path));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void IdxIsToldByContentWhenTheNameSaysNothing(bool gzip)
    {
        string path = _folder.File("images.bin");
        Idx.WriteUInt8(path, Synthetic.Bytes(2 * 9), [2, 3, 3], gzip);
        Assert.Equal(VectorFormat.Idx, VectorFormats.Detect(path));
    }

    [Fact]
    public void UnknownFormatNamesTheFileAndTheChoices()
    {
        string path = _folder.File("notes.txt");
        File.WriteAllText(path, "hello world");
        var error = Assert.Throws<InvalidDataException>(() => VectorFormats.Detect(path));
        Assert.Contains("notes.txt", error.Message);
        Assert.Contains("cannot tell the format", error.Message);
        Assert.Contains(VectorFormats.Names, error.Message);
    }

    [Theory]
    [InlineData("fvecs", VectorFormat.Fvecs)]
    [InlineData("HDF5", VectorFormat.Hdf5)]
    [InlineData("h5", VectorFormat.Hdf5)]
    [InlineData(" idx ", VectorFormat.Idx)]
    public void FormatNamesParse(string name, VectorFormat expected) => Assert.Equal(expected, VectorFormats.Parse(name));

    [Fact]
    public void UnknownFormatNameListsTheKnownOnes()
    {
        var error = Assert.Throws<ArgumentException>(() => VectorFormats.Parse("csv"));
        Assert.Equal("unknown format 'csv': use one of fvecs, bvecs, idx, npy, hdf5, parquet", error.Message);
    }

    [Fact]
    public void EmptyFileIsRejectedWhateverTheFormat()
    {
        string path = _folder.File("empty.npy");
        File.WriteAllBytes(path, []);
        var error = Assert.Throws<InvalidDataException>(() => VectorReader.Open(path));
        Assert.Equal($"{path}: the file is empty", error.Message);
    }

    /// <remarks>On Linux a link's own FileInfo.Length is the length of the path it holds, never 0.</remarks>
    [Fact]
    public void EmptyFileBehindASymbolicLinkIsRejected()
    {
        string target = _folder.File("empty.fvecs");
        File.WriteAllBytes(target, []);
        string link = _folder.File("link.fvecs");
        File.CreateSymbolicLink(link, target);
        var error = Assert.Throws<InvalidDataException>(() => VectorReader.Open(link));
        Assert.Equal($"{link}: the file is empty", error.Message);
    }

    [Fact]
    public void MissingFileIsNamed()
    {
        string path = _folder.File("absent.fvecs");
        var error = Assert.Throws<FileNotFoundException>(() => VectorReader.Open(path));
        Assert.Equal($"{path} does not exist", error.Message);
    }

    [Fact]
    public void DatasetNameIsRejectedForFormatsOtherThanHdf5()
    {
        string path = _folder.File("v.fvecs");
        Texmex.WriteFvecs(path, Synthetic.Vectors(2, 2));
        var error = Assert.Throws<ArgumentException>(() => VectorReader.Open(path, hdf5Dataset: "test"));
        Assert.Contains("only applies to HDF5", error.Message);
    }
}
