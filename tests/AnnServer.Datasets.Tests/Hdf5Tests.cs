using PureHDF;

namespace AnnServer.Datasets.Tests;

public sealed class Hdf5Tests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void AnnBenchmarksFileRoundTrips()
    {
        var train = Synthetic.Vectors(30, 8, seed: 1);
        var test = Synthetic.Vectors(4, 8, seed: 2);
        int[][] neighbors = [[1, 2, 3], [4, 5, 6], [7, 8, 9], [10, 11, 12]];
        string path = _folder.File("data.hdf5");
        AnnBenchmarksHdf5.Write(path, train, test, neighbors, distance: "euclidean");

        Assert.Equal(train.Data, VectorLoader.Load(path).Vectors.Data);
        Assert.Equal(test.Data, VectorLoader.Load(path, new VectorLoadOptions { Hdf5Dataset = "test" }).Vectors.Data);
        Assert.Equal(neighbors, AnnBenchmarksHdf5.ReadNeighbors(path));
        Assert.Equal("euclidean", AnnBenchmarksHdf5.ReadDistanceAttribute(path));
        Assert.Equal(["neighbors", "test", "train"], AnnBenchmarksHdf5.DatasetNames(path));
    }

    [Fact]
    public void RowsSpanningSeveralReadBlocksComeBackInOrder()
    {
        // 1,100 rows × 1,000 components is more than one 2^20-float block.
        var train = Synthetic.Vectors(1100, 1000);
        string path = _folder.File("big.hdf5");
        AnnBenchmarksHdf5.Write(path, train);
        Assert.Equal(train.Data, VectorLoader.Load(path).Vectors.Data);
    }

    [Fact]
    public void Float64DatasetIsNarrowedToFloat32()
    {
        double[] values = [0.5, 1.25, -3, 1e-3, 7, 8];
        string path = _folder.File("double.hdf5");
        new H5File { ["train"] = new H5Dataset(values, fileDims: [3, 2]) }.Write(path);

        var loaded = VectorLoader.Load(path);

        Assert.Equal(values.Select(v => (float)v).ToArray(), loaded.Vectors.Data);
        Assert.Equal(2, loaded.Vectors.Dimension);
    }

    [Fact]
    public void MissingDatasetListsTheOnesThere()
    {
        string path = _folder.File("data.hdf5");
        AnnBenchmarksHdf5.Write(path, Synthetic.Vectors(3, 2), Synthetic.Vectors(1, 2));
        var error = Assert.Throws<InvalidDataException>(() => VectorLoader.Load(path, new VectorLoadOptions { Hdf5Dataset = "base" }));
        Assert.Equal($"{path}: there is no dataset 'base' (the file has test, train)", error.Message);
    }

    [Fact]
    public void NeighbourIdsAreNotReadAsVectors()
    {
        string path = _folder.File("data.hdf5");
        AnnBenchmarksHdf5.Write(path, Synthetic.Vectors(3, 2), neighbors: [[0, 1], [1, 2]]);
        var error = Assert.Throws<InvalidDataException>(() => VectorLoader.Load(path, new VectorLoadOptions { Hdf5Dataset = "neighbors" }));
        Assert.Equal($"{path}: dataset 'neighbors' holds 32-bit integers, not float32/float64 vectors (neighbour ids: convert them to .ivecs instead)", error.Message);
    }

    [Fact]
    public void OneDimensionalDatasetIsRefused()
    {
        string path = _folder.File("flat.hdf5");
        new H5File { ["train"] = new H5Dataset(new float[] { 1, 2, 3 }) }.Write(path);
        var error = Assert.Throws<InvalidDataException>(() => VectorLoader.Load(path));
        Assert.Equal($"{path}: dataset 'train' has 1 axes; vectors must be a 2-D array (rows, dimension)", error.Message);
    }

    [Fact]
    public void FileThatIsNotHdf5IsReported()
    {
        string path = _folder.File("fake.hdf5");
        File.WriteAllText(path, "not an hdf5 file at all, just some text that is long enough");
        var error = Assert.Throws<InvalidDataException>(() => VectorLoader.Load(path));
        Assert.StartsWith($"{path}: not a readable HDF5 file (", error.Message);
    }
}
