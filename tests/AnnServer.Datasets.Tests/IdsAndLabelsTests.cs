namespace AnnServer.Datasets.Tests;

public sealed class IdsAndLabelsTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void TextIdsRoundTrip()
    {
        long[] ids = [10, -3, long.MaxValue, 0];
        string path = _folder.File("ids.txt");
        IdsFile.Write(path, ids);
        Assert.Equal(ids, IdsFile.Read(path));
    }

    [Fact]
    public void NpyIdsAreChosenByExtension()
    {
        long[] ids = [7, 8, 9];
        string path = _folder.File("ids.npy");
        Npy.WriteInt64(path, ids);
        Assert.Equal(ids, IdsFile.Read(path));
    }

    [Fact]
    public void IdThatIsNotAnIntegerNamesItsLine()
    {
        string path = _folder.File("ids.txt");
        File.WriteAllText(path, "1\n2\nthree\n4\n");
        var error = Assert.Throws<InvalidDataException>(() => IdsFile.Read(path));
        Assert.Equal($"{path}: line 3: 'three' is not a 64-bit integer id", error.Message);
    }

    [Fact]
    public void BlankIdLineIsRefused()
    {
        string path = _folder.File("ids.txt");
        File.WriteAllText(path, "1\n\n2\n");
        var error = Assert.Throws<InvalidDataException>(() => IdsFile.Read(path));
        Assert.Equal($"{path}: line 2 is empty; put one id on every line", error.Message);
    }

    [Fact]
    public void DuplicateIdNamesBothLines()
    {
        string path = _folder.File("ids.txt");
        File.WriteAllText(path, "5\n6\n7\n6\n");
        var error = Assert.Throws<InvalidDataException>(() => IdsFile.Read(path));
        Assert.Equal($"{path}: id 6 appears twice, at lines 2 and 4; ids must be unique", error.Message);
    }

    [Fact]
    public void NpyIdsOfAnotherDtypeAreRefused()
    {
        string path = _folder.File("ids.npy");
        Npy.Write(path, "<f8", false, [2], new byte[16]);
        var error = Assert.Throws<InvalidDataException>(() => IdsFile.Read(path));
        Assert.Equal($"{path}: dtype '<f8' (float64) is not supported for ids: use int64 ('<i8'), e.g. arr.astype('<i8')", error.Message);
    }

    [Fact]
    public void LabelsRoundTripWithEmptyLines()
    {
        int[]?[] labels = [[1, 2], [], [-5], null, [3, 4, 5]];
        string path = _folder.File("labels.txt");
        LabelsFile.Write(path, labels);

        var read = LabelsFile.Read(path);

        Assert.Equal(new[] { new[] { 1, 2 }, [], [-5], [], [3, 4, 5] }, read);
    }

    [Fact]
    public void LabelsToleratesSpaces()
    {
        string path = _folder.File("labels.txt");
        File.WriteAllText(path, " 1 , 2\n\n3\n");
        Assert.Equal(new[] { new[] { 1, 2 }, [], [3] }, LabelsFile.Read(path));
    }

    [Fact]
    public void LabelThatIsNotAnIntegerNamesItsLine()
    {
        string path = _folder.File("labels.txt");
        File.WriteAllText(path, "1,2\n3,x\n");
        var error = Assert.Throws<InvalidDataException>(() => LabelsFile.Read(path));
        Assert.Equal($"{path}: line 2: 'x' is not a 32-bit integer label", error.Message);
    }

    [Fact]
    public void EmptyLabelBetweenCommasIsRefused()
    {
        string path = _folder.File("labels.txt");
        File.WriteAllText(path, "1,,2\n");
        var error = Assert.Throws<InvalidDataException>(() => LabelsFile.Read(path));
        Assert.Equal($"{path}: line 1: label 2 is empty (two commas in a row, or a trailing comma?)", error.Message);
    }
}
