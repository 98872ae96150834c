using System.Buffers.Binary;

namespace AnnServer.Datasets;

/// <summary>
/// TEXMEX vector files (the ANN_SIFT1M family): every row is a little-endian int32 dimension followed by that many
/// components, float32 in .fvecs, int32 in .ivecs (ground-truth neighbour ids), uint8 in .bvecs.
/// </summary>
public static class Texmex
{
    public static VectorSet ReadFvecs(string path, int maxRows = int.MaxValue) => Read(path, 4, maxRows, static (src, dst) =>
    {
        for (int i = 0; i < dst.Length; i++) dst[i] = BinaryPrimitives.ReadSingleLittleEndian(src[(i * 4)..]);
    });

    public static VectorSet ReadBvecs(string path, int maxRows = int.MaxValue) => Read(path, 1, maxRows, static (src, dst) =>
    {
        for (int i = 0; i < dst.Length; i++) dst[i] = src[i];
    });

    /// <summary>Reads an .ivecs file: one int row per query (for example ground-truth neighbour ids).</summary>
    public static int[][] ReadIvecs(string path, int maxRows = int.MaxValue)
    {
        using var stream = OpenRead(path);
        var rows = new List<int[]>();
        Span<byte> header = stackalloc byte[4];
        while (rows.Count < maxRows && ReadFully(stream, header))
        {
            int dimension = BinaryPrimitives.ReadInt32LittleEndian(header);
            if (dimension < 0 || dimension > 1 << 20)
                throw new InvalidDataException($"{path}: row {rows.Count} has an impossible length {dimension}");
            var bytes = new byte[dimension * 4];
            if (!ReadFully(stream, bytes))
                throw new InvalidDataException($"{path}: row {rows.Count} is truncated");
            var row = new int[dimension];
            for (int i = 0; i < dimension; i++) row[i] = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(i * 4));
            rows.Add(row);
        }
        return rows.ToArray();
    }

    public static void WriteFvecs(string path, VectorSet vectors)
    {
        using var stream = new BufferedStream(File.Create(path), 1 << 20);
        var row = new byte[4 + vectors.Dimension * 4];
        BinaryPrimitives.WriteInt32LittleEndian(row, vectors.Dimension);
        for (int r = 0; r < vectors.Count; r++)
        {
            var values = vectors.Row(r);
            for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(row.AsSpan(4 + i * 4), values[i]);
            stream.Write(row);
        }
    }

    public static void WriteIvecs(string path, IReadOnlyList<int[]> rows)
    {
        using var stream = new BufferedStream(File.Create(path), 1 << 20);
        Span<byte> four = stackalloc byte[4];
        foreach (var row in rows)
        {
            BinaryPrimitives.WriteInt32LittleEndian(four, row.Length);
            stream.Write(four);
            foreach (int value in row)
            {
                BinaryPrimitives.WriteInt32LittleEndian(four, value);
                stream.Write(four);
            }
        }
    }

    private delegate void RowDecoder(ReadOnlySpan<byte> source, Span<float> destination);

    private static VectorSet Read(string path, int componentSize, int maxRows, RowDecoder decode)
    {
        using var stream = OpenRead(path);
        Span<byte> header = stackalloc byte[4];
        if (!ReadFully(stream, header))
            throw new InvalidDataException($"{path}: the file is empty");
        int dimension = BinaryPrimitives.ReadInt32LittleEndian(header);
        if (dimension <= 0 || dimension > 1 << 16)
            throw new InvalidDataException($"{path}: row 0 declares dimension {dimension}; is this really a TEXMEX file?");
        long rowBytes = 4 + (long)dimension * componentSize;
        long rowCount = stream.Length / rowBytes;
        if (stream.Length % rowBytes != 0)
            throw new InvalidDataException($"{path}: length {stream.Length} is not a whole number of rows of dimension {dimension}");
        int count = (int)Math.Min(rowCount, maxRows);
        var data = new float[(long)count * dimension];
        var bytes = new byte[dimension * componentSize];
        stream.Position = 0;
        for (int r = 0; r < count; r++)
        {
            if (!ReadFully(stream, header) || !ReadFully(stream, bytes))
                throw new InvalidDataException($"{path}: row {r} is truncated");
            int rowDimension = BinaryPrimitives.ReadInt32LittleEndian(header);
            if (rowDimension != dimension)
                throw new InvalidDataException($"{path}: row {r} has dimension {rowDimension}, expected {dimension}");
            decode(bytes, data.AsSpan(r * dimension, dimension));
        }
        return new VectorSet(data, count, dimension);
    }

    private static FileStream OpenRead(string path) =>
        new(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.SequentialScan);

    private static bool ReadFully(Stream stream, Span<byte> buffer)
    {
        int read = stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
        if (read == 0) return false;
        if (read < buffer.Length) throw new InvalidDataException("the file ends in the middle of a row");
        return true;
    }
}
