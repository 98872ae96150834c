using System.Buffers.Binary;
using System.IO.Compression;

namespace AnnServer.Datasets;

/// <summary>Reads IDX files (layout in <see cref="Idx"/>), gzip-compressed or not: the first two bytes tell.</summary>
internal sealed class IdxVectorReader : VectorReader
{
    private readonly Stream _stream;
    private readonly byte _typeCode;
    private readonly byte[] _rowBytes;

    public IdxVectorReader(string path) : base(path)
    {
        var file = OpenSequential(path);
        try
        {
            Span<byte> head = stackalloc byte[4];
            int got = file.ReadAtLeast(head[..2], 2, throwOnEndOfStream: false);
            file.Position = 0;
            bool gzip = got == 2 && head[0] == 0x1f && head[1] == 0x8b;
            _stream = gzip ? new BufferedStream(new GZipStream(file, CompressionMode.Decompress), 1 << 16) : file;

            string what = gzip ? "gzip-compressed IDX" : "IDX";
            if (!ReadHeaderBytes(head))
                throw new InvalidDataException($"{path}: the {what} file is shorter than its 4-byte header");
            if (head[0] != 0 || head[1] != 0 || !Idx.IsKnownTypeCode(head[2]) || head[3] is < 1 or > 8)
                throw new InvalidDataException(
                    $"{path}: not an {what} file (header bytes {head[0]:X2} {head[1]:X2} {head[2]:X2} {head[3]:X2}; expected 00 00 <type 08/09/0B/0C/0D/0E> <axes 1..8>)");
            _typeCode = head[2];
            int axes = head[3];
            if (axes == 1)
                throw new InvalidDataException($"{path}: the IDX file has a single axis (a label file?); vectors need at least two axes (rows, components)");

            var shape = new long[axes];
            for (int a = 0; a < axes; a++)
            {
                if (!ReadHeaderBytes(head))
                    throw new InvalidDataException($"{path}: the IDX header ends before the size of axis {a}");
                shape[a] = BinaryPrimitives.ReadInt32BigEndian(head);
                if (shape[a] < 0) throw new InvalidDataException($"{path}: IDX axis {a} has a negative size {shape[a]}");
            }
            long dimension = 1;
            for (int a = 1; a < axes; a++) dimension *= shape[a];
            if (dimension is 0 or > MaxDimension)
                throw new InvalidDataException($"{path}: rows of {dimension} components ({string.Join(" × ", shape[1..])}) are not supported");
            Dimension = (int)dimension;
            ExpectedRows = shape[0];
            _rowBytes = new byte[Dimension * Idx.ElementSize(_typeCode)];

            if (!gzip)
            {
                long needed = 4 + 4L * axes + ExpectedRows * _rowBytes.Length;
                if (file.Length < needed)
                    throw new InvalidDataException(
                        $"{path}: truncated: the header announces {ExpectedRows} rows of {Dimension} values ({needed} bytes in all) but the file has {file.Length} bytes");
            }
        }
        catch
        {
            (_stream ?? file).Dispose();
            throw;
        }
    }

    public override VectorFormat Format => VectorFormat.Idx;

    public override bool TryReadRow(Span<float> destination, out int rowDimension)
    {
        rowDimension = Dimension;
        // The header's row count is authoritative: bytes after the last row are ignored, as the MNIST readers do.
        if (RowsRead == ExpectedRows) return false;
        bool complete;
        try
        {
            complete = ReadRowBytes(_stream, _rowBytes);
        }
        catch (InvalidDataException e) when (!e.Message.StartsWith(Path, StringComparison.Ordinal))
        {
            throw new InvalidDataException($"{Path}: the gzip stream is damaged at row {RowsRead} ({e.Message})", e);
        }
        if (!complete)
            throw new InvalidDataException($"{Path}: the file ends after {RowsRead} rows but its header announces {ExpectedRows}");
        ReadOnlySpan<byte> bytes = _rowBytes;
        switch (_typeCode)
        {
            case Idx.UInt8:
                for (int i = 0; i < destination.Length; i++) destination[i] = bytes[i];
                break;
            case Idx.Int8:
                for (int i = 0; i < destination.Length; i++) destination[i] = (sbyte)bytes[i];
                break;
            case Idx.Int16:
                for (int i = 0; i < destination.Length; i++) destination[i] = BinaryPrimitives.ReadInt16BigEndian(bytes[(i * 2)..]);
                break;
            case Idx.Int32:
                for (int i = 0; i < destination.Length; i++) destination[i] = BinaryPrimitives.ReadInt32BigEndian(bytes[(i * 4)..]);
                break;
            case Idx.Float32:
                for (int i = 0; i < destination.Length; i++) destination[i] = BinaryPrimitives.ReadSingleBigEndian(bytes[(i * 4)..]);
                break;
            case Idx.Float64:
                for (int i = 0; i < destination.Length; i++) destination[i] = (float)BinaryPrimitives.ReadDoubleBigEndian(bytes[(i * 8)..]);
                break;
        }
        RowsRead++;
        return true;
    }

    private bool ReadHeaderBytes(Span<byte> four)
    {
        try
        {
            return _stream.ReadAtLeast(four, 4, throwOnEndOfStream: false) == 4;
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{Path}: the gzip stream is damaged ({e.Message})", e);
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) _stream.Dispose();
    }
}
