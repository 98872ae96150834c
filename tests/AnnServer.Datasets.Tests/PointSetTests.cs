namespace AnnServer.Datasets.Tests;

public sealed class PointSetTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void WithoutAnIdsFileIdsAreRowNumbers()
    {
        string path = _folder.File("v.fvecs");
        Texmex.WriteFvecs(path, Synthetic.Vectors(5, 3));
        Assert.Equal(new long[] { 0, 1, 2, 3, 4 }, PointSet.Load(path).Ids);
    }

    [Fact]
    public void IdsFileOfAnotherLengthIsRefused()
    {
        string vectors = _folder.File("v.fvecs");
        string ids = _folder.File("ids.txt");
        Texmex.WriteFvecs(vectors, Synthetic.Vectors(5, 3));
        IdsFile.Write(ids, [1, 2, 3, 4]);

        var error = Assert.Throws<InvalidDataException>(() => PointSet.Load(vectors, ids));

        Assert.Equal($"{ids}: has 4 ids but {vectors} has 5 rows; there must be one id per row", error.Message);
    }

    [Fact]
    public void LabelsFileOfAnotherLengthIsRefused()
    {
        string vectors = _folder.File("v.fvecs");
        string labels = _folder.File("labels.txt");
        Texmex.WriteFvecs(vectors, Synthetic.Vectors(2, 3));
        LabelsFile.Write(labels, [[1], [2], [3]]);

        var error = Assert.Throws<InvalidDataException>(() => PointSet.Load(vectors, labelsPath: labels));

        Assert.Equal($"{labels}: has 3 lines but {vectors} has 2 rows; there must be one line of labels per row", error.Message);
    }

    [Fact]
    public void SkippedRowsTakeTheirIdsAndLabelsWithThem()
    {
        string vectors = _folder.File("v.npy");
        string ids = _folder.File("ids.txt");
        string labels = _folder.File("labels.txt");
        var data = Synthetic.Vectors(4, 2);
        data.Data[1 * 2] = float.NaN;
        Npy.WriteFloat32(vectors, data);
        IdsFile.Write(ids, [100, 101, 102, 103]);
        LabelsFile.Write(labels, [[0], [1], [2], [3]]);

        var points = PointSet.Load(vectors, ids, labels, new VectorLoadOptions { SkipInvalid = true });

        Assert.Equal(new long[] { 100, 102, 103 }, points.Ids);
        Assert.Equal(new[] { new[] { 0 }, [2], [3] }, points.Labels);
        Assert.Equal(3, points.Vectors.Count);
    }

    [Fact]
    public void SkippedRowsKeepTheRowNumberIdsOfTheOthers()
    {
        string vectors = _folder.File("v.npy");
        var data = Synthetic.Vectors(4, 2);
        data.Data[2 * 2 + 1] = float.NegativeInfinity;
        Npy.WriteFloat32(vectors, data);

        var points = PointSet.Load(vectors, options: new VectorLoadOptions { SkipInvalid = true });

        Assert.Equal(new long[] { 0, 1, 3 }, points.Ids);
    }
}
