using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace AnnServer.Datasets;

/// <summary>Reads .fvecs and .bvecs files row by row (layout in <see cref="Texmex"/>).</summary>
internal sealed class TexmexVectorReader : VectorReader
{
    private readonly FileStream _stream;
    private readonly int _componentSize;
    private byte[] _rowBytes;

    public TexmexVectorReader(string path, VectorFormat format) : base(path)
    {
        Format = format;
        _componentSize = format == VectorFormat.Fvecs ? 4 : 1;
        _stream = OpenSequential(path);
        try
        {
            Span<byte> header = stackalloc byte[4];
            if (_stream.ReadAtLeast(header, 4, throwOnEndOfStream: false) < 4)
                throw new InvalidDataException($"{path}: the file is shorter than one row header (4 bytes)");
            int dimension = BinaryPrimitives.ReadInt32LittleEndian(header);
            if (dimension is <= 0 or > MaxDimension)
                throw new InvalidDataException($"{path}: row 0 declares dimension {dimension}; is this really a {Format.ToString().ToLowerInvariant()} file?");
            Dimension = dimension;
            ExpectedRows = _stream.Length / (4 + (long)dimension * _componentSize);
            _stream.Position = 0;
            _rowBytes = new byte[dimension * _componentSize];
        }
        catch
        {
            _stream.Dispose();
            throw;
        }
    }

    public override VectorFormat Format { get; }

    public override bool ExpectedRowsAreExact => false;

    public override bool TryReadRow(Span<float> destination, out int rowDimension)
    {
        Span<byte> header = stackalloc byte[4];
        rowDimension = 0;
        if (!ReadRowBytes(_stream, header)) return false;
        rowDimension = BinaryPrimitives.ReadInt32LittleEndian(header);
        if (rowDimension is <= 0 or > MaxDimension)
            throw new InvalidDataException($"{Path}: row {RowsRead} declares dimension {rowDimension}; the file is corrupt");
        int length = rowDimension * _componentSize;
        if (_rowBytes.Length < length) _rowBytes = new byte[length];
        var bytes = _rowBytes.AsSpan(0, length);
        int read = _stream.ReadAtLeast(bytes, length, throwOnEndOfStream: false);
        if (read < length)
            throw new InvalidDataException($"{Path}: row {RowsRead} is truncated (the file ends {read} bytes into its {length} bytes of values)");
        if (rowDimension == Dimension)
        {
            if (_componentSize == 4 && BitConverter.IsLittleEndian)
                MemoryMarshal.Cast<byte, float>(bytes).CopyTo(destination);
            else if (_componentSize == 4)
                for (int i = 0; i < destination.Length; i++) destination[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes[(i * 4)..]);
            else
                for (int i = 0; i < destination.Length; i++) destination[i] = bytes[i];
        }
        RowsRead++;
        return true;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) _stream.Dispose();
    }
}
