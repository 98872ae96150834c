using PureHDF;
using PureHDF.VOL.Native;
using PureHDF.Selections;

namespace AnnServer.Datasets;

/// <summary>Reads one 2-D floating-point dataset of an HDF5 file (see <see cref="AnnBenchmarksHdf5"/>) in blocks of rows;
/// float64 datasets are narrowed to float32.</summary>
internal sealed class Hdf5VectorReader : VectorReader
{
    /// <summary>About 4 MB of float32 per block: few library calls, little memory.</summary>
    private const int BlockFloats = 1 << 20;

    private readonly NativeFile _file;
    private readonly IH5Dataset _dataset;
    private readonly string _datasetName;
    private readonly bool _isDouble;
    private readonly int _blockRows;
    private readonly float[] _block;
    private double[]? _doubleBlock;
    private long _blockStart;
    private int _blockCount;

    public Hdf5VectorReader(string path, string datasetName) : base(path)
    {
        _datasetName = datasetName;
        _file = AnnBenchmarksHdf5.Open(path);
        try
        {
            _dataset = AnnBenchmarksHdf5.OpenDataset(_file, path, datasetName);
            var shape = _dataset.Space.Dimensions;
            if (shape.Length != 2)
                throw new InvalidDataException($"{path}: dataset '{datasetName}' has {shape.Length} axes; vectors must be a 2-D array (rows, dimension)");
            var type = _dataset.Type;
            if (type.Class != H5DataTypeClass.FloatingPoint || type.Size is not (4 or 8))
            {
                string hint = type.Class == H5DataTypeClass.FixedPoint ? " (neighbour ids: convert them to .ivecs instead)" : "";
                throw new InvalidDataException(
                    $"{path}: dataset '{datasetName}' holds {AnnBenchmarksHdf5.DescribeType(type)}, not float32/float64 vectors{hint}");
            }
            if (shape[1] is 0 or > MaxDimension)
                throw new InvalidDataException($"{path}: dataset '{datasetName}' has rows of {shape[1]} components, which is not supported");
            _isDouble = type.Size == 8;
            Dimension = (int)shape[1];
            ExpectedRows = (long)shape[0];
            _blockRows = Math.Max(1, BlockFloats / Dimension);
            _block = new float[_blockRows * Dimension];
        }
        catch
        {
            _file.Dispose();
            throw;
        }
    }

    public override VectorFormat Format => VectorFormat.Hdf5;

    public override bool TryReadRow(Span<float> destination, out int rowDimension)
    {
        rowDimension = Dimension;
        if (RowsRead == ExpectedRows) return false;
        int inBlock = (int)(RowsRead - _blockStart);
        if (RowsRead == 0 || inBlock >= _blockCount)
        {
            LoadBlock(RowsRead);
            inBlock = 0;
        }
        _block.AsSpan(inBlock * Dimension, Dimension).CopyTo(destination);
        RowsRead++;
        return true;
    }

    private void LoadBlock(long firstRow)
    {
        int rows = (int)Math.Min(_blockRows, ExpectedRows - firstRow);
        var selection = new HyperslabSelection(2, [(ulong)firstRow, 0], [(ulong)rows, (ulong)Dimension]);
        // The block buffer is reused, so the last block fills only its start: select that part of it.
        var memorySelection = new HyperslabSelection(start: 0, block: (ulong)rows * (ulong)Dimension);
        ulong[] memoryDims = [(ulong)_block.Length];
        try
        {
            if (_isDouble)
            {
                _doubleBlock ??= new double[_block.Length];
                _dataset.Read(_doubleBlock, fileSelection: selection, memorySelection: memorySelection, memoryDims: memoryDims);
                for (int i = 0; i < rows * Dimension; i++) _block[i] = (float)_doubleBlock[i];
            }
            else
            {
                _dataset.Read(_block, fileSelection: selection, memorySelection: memorySelection, memoryDims: memoryDims);
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new InvalidDataException($"{Path}: cannot read rows {firstRow}..{firstRow + rows - 1} of dataset '{_datasetName}' ({e.Message})", e);
        }
        _blockStart = firstRow;
        _blockCount = rows;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) _file.Dispose();
    }
}
