using System.Buffers.Binary;

namespace AnnServer.Datasets;

/// <summary>
/// TEXMEX vector files (the ANN_SIFT1M family): every row is a little-endian int32 dimension followed by that many
/// components, float32 in .fvecs, int32 in .ivecs (ground-truth neighbour ids), uint8 in .bvecs.
/// </summary>
public static class Texmex
{
    /// <summary>Reads up to <paramref name="maxRows"/> rows of an .fvecs file.</summary>
    /// <exception cref="InvalidDataException">a truncated row, a row of another dimension, or a NaN/infinite component (the message names the row).</exception>
    public static VectorSet ReadFvecs(string path, int maxRows = int.MaxValue) =>
        VectorLoader.Load(path, new VectorLoadOptions { Format = VectorFormat.Fvecs, MaxRows = maxRows }).Vectors;

    /// <summary>Reads up to <paramref name="maxRows"/> rows of a .bvecs file; components become 0..255.</summary>
    public static VectorSet ReadBvecs(string path, int maxRows = int.MaxValue) =>
        VectorLoader.Load(path, new VectorLoadOptions { Format = VectorFormat.Bvecs, MaxRows = maxRows }).Vectors;

    /// <summary>Reads an .ivecs file: one int row per query (for example ground-truth neighbour ids).</summary>
    public static int[][] ReadIvecs(string path, int maxRows = int.MaxValue)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        var rows = new List<int[]>();
        Span<byte> header = stackalloc byte[4];
        while (rows.Count < maxRows)
        {
            int got = stream.ReadAtLeast(header, 4, throwOnEndOfStream: false);
            if (got == 0) break;
            if (got < 4) throw new InvalidDataException($"{path}: row {rows.Count} is truncated inside its dimension");
            int dimension = BinaryPrimitives.ReadInt32LittleEndian(header);
            if (dimension < 0 || dimension > VectorReader.MaxDimension)
                throw new InvalidDataException($"{path}: row {rows.Count} has an impossible length {dimension}");
            var bytes = new byte[dimension * 4];
            if (stream.ReadAtLeast(bytes, bytes.Length, throwOnEndOfStream: false) < bytes.Length)
                throw new InvalidDataException($"{path}: row {rows.Count} is truncated");
            var row = new int[dimension];
            for (int i = 0; i < dimension; i++) row[i] = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(i * 4));
            rows.Add(row);
        }
        return rows.ToArray();
    }

    public static void WriteFvecs(string path, VectorSet vectors)
    {
        using var writer = new FvecsWriter(File.Create(path));
        for (int r = 0; r < vectors.Count; r++) writer.WriteRow(vectors.Row(r));
    }

    /// <summary>Writes rows of bytes (<paramref name="data"/> is row-major, count × <paramref name="dimension"/>) as .bvecs.</summary>
    public static void WriteBvecs(string path, ReadOnlySpan<byte> data, int dimension)
    {
        if (dimension <= 0 || data.Length % dimension != 0)
            throw new ArgumentException($"{data.Length} bytes are not whole rows of dimension {dimension}");
        using var stream = new BufferedStream(File.Create(path), 1 << 16);
        Span<byte> four = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(four, dimension);
        for (int offset = 0; offset < data.Length; offset += dimension)
        {
            stream.Write(four);
            stream.Write(data.Slice(offset, dimension));
        }
    }

    public static void WriteIvecs(string path, IReadOnlyList<int[]> rows)
    {
        using var stream = File.Create(path);
        WriteIvecs(stream, rows);
    }

    /// <summary>Writes .ivecs rows to a stream (left open).</summary>
    public static void WriteIvecs(Stream destination, IReadOnlyList<int[]> rows)
    {
        // Not disposed: disposing a BufferedStream closes the stream under it, which belongs to the caller.
        var stream = new BufferedStream(destination, 1 << 16);
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
        stream.Flush();
    }
}
