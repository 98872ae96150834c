using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using AnnServer.Core.Hnsw;

namespace AnnServer.Core.Snapshots;

/// <summary>
/// The ValueLinks section (format version 5): the links among each linked keyword field's values' points
/// (<see cref="ValueLinks"/>), so that a load has them at once instead of a filtered search a point.
/// </summary>
/// <remarks>
/// <code>
/// int32 field count F (1 to HnswIndex.MaxLinkedFields)
/// F times:
///   int32 name length L in UTF-8 bytes (1 to 512), the name, zero bytes to a multiple of 4
///   int32 links per row R (2·M)
///   node count rows of 1 + R int32: the count (0 to R), then R node numbers (those past the count are 0)
/// </code>
/// The rows are the in-memory layout of a page (<see cref="ValueLinks"/>), so a load copies them a page at a time.
/// Only complete tables are written: one still being built for a field linked meanwhile is left to the next snapshot.
/// </remarks>
internal static class ValueLinksSection
{
    private const int MaxNameBytes = 4 * Payloads.PayloadLimits.MaxFieldNameLength;

    /// <summary>The tables to write: the complete ones of the index; empty when there are none.</summary>
    public static ValueLinks[] Complete(HnswIndex index)
    {
        var complete = new List<ValueLinks>();
        foreach (ValueLinks links in index.ValueLinkTables)
            if (links.IsComplete) complete.Add(links);
        return [.. complete];
    }

    /// <summary>Writes the tables' rows of nodes [0, nodes), each copied once and cleaned of nodes allocated after the freeze.</summary>
    public static void Write(Action<ReadOnlySpan<byte>> write, ValueLinks[] tables, int nodes)
    {
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(word, tables.Length);
        write(word);
        foreach (ValueLinks links in tables)
        {
            byte[] name = Encoding.UTF8.GetBytes(links.Field);
            BinaryPrimitives.WriteInt32LittleEndian(word, name.Length);
            write(word);
            write(name);
            write(new byte[Padding(name.Length)]);
            BinaryPrimitives.WriteInt32LittleEndian(word, links.MaxLinks);
            write(word);
            var row = new int[1 + links.MaxLinks];
            for (int node = 0; node < nodes; node++)
            {
                Array.Clear(row);
                ReadOnlySpan<int> live = links.Links(node);
                int kept = 0;
                foreach (int target in live)
                    if ((uint)target < (uint)nodes) row[1 + kept++] = target;
                row[0] = kept;
                write(MemoryMarshal.AsBytes(row.AsSpan()));
            }
        }
    }

    /// <summary>Reads and checks the tables: every count within the row, every link a node of the file.</summary>
    public static List<ValueLinks> Read(ReadOnlySpan<byte> bytes, int nodes, int m, Func<string, Exception> fail)
    {
        int position = 0;
        int fields = ReadInt32(bytes, ref position, "the field count", fail);
        if (fields is < 1 or > HnswIndex.MaxLinkedFields)
            throw fail($"section ValueLinks holds {fields} fields; 1 to {HnswIndex.MaxLinkedFields} are allowed");
        var tables = new List<ValueLinks>(fields);
        for (int f = 0; f < fields; f++)
        {
            int nameLength = ReadInt32(bytes, ref position, $"field {f}'s name length", fail);
            if (nameLength is < 1 or > MaxNameBytes || nameLength + Padding(nameLength) > bytes.Length - position)
                throw fail($"section ValueLinks: field {f} has an impossible name length {nameLength}");
            string name;
            try
            {
                name = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes.Slice(position, nameLength));
            }
            catch (DecoderFallbackException)
            {
                throw fail($"section ValueLinks: field {f}'s name is not UTF-8");
            }
            position += nameLength + Padding(nameLength);
            foreach (ValueLinks other in tables)
                if (other.Field == name) throw fail($"section ValueLinks gives field '{name}' twice");
            int maxLinks = ReadInt32(bytes, ref position, $"field '{name}''s row length", fail);
            if (maxLinks != 2 * m) throw fail($"section ValueLinks: field '{name}' has rows of {maxLinks} links; the index's M {m} makes them {2 * m}");
            long rowsBytes = (long)nodes * (1 + maxLinks) * sizeof(int);
            if (rowsBytes > bytes.Length - position) throw fail($"section ValueLinks: field '{name}''s rows run past the section");
            ReadOnlySpan<int> rows = MemoryMarshal.Cast<byte, int>(bytes.Slice(position, (int)rowsBytes));
            for (int node = 0; node < nodes; node++)
            {
                int start = node * (1 + maxLinks);
                int count = rows[start];
                if ((uint)count > (uint)maxLinks) throw fail($"section ValueLinks: field '{name}', node {node} has {count} links, at most {maxLinks} allowed");
                foreach (int target in rows.Slice(start + 1, count))
                    if ((uint)target >= (uint)nodes) throw fail($"section ValueLinks: field '{name}', node {node} links to node {target}, beyond the {nodes} nodes");
            }
            var links = new ValueLinks(name, maxLinks, nodes);
            links.LoadRows(rows, nodes);
            tables.Add(links);
            position += (int)rowsBytes;
        }
        if (position != bytes.Length) throw fail("section ValueLinks is longer than its fields' rows");
        return tables;
    }

    /// <summary>The linked fields' names only, skipping their rows (for <see cref="Snapshot.ReadInfo"/>).</summary>
    public static List<string> FieldNames(ReadOnlySpan<byte> bytes, int nodes, Func<string, Exception> fail)
    {
        int position = 0;
        int fields = ReadInt32(bytes, ref position, "the field count", fail);
        if (fields is < 1 or > HnswIndex.MaxLinkedFields)
            throw fail($"section ValueLinks holds {fields} fields; 1 to {HnswIndex.MaxLinkedFields} are allowed");
        var names = new List<string>(fields);
        for (int f = 0; f < fields; f++)
        {
            int nameLength = ReadInt32(bytes, ref position, $"field {f}'s name length", fail);
            if (nameLength is < 1 or > MaxNameBytes || nameLength + Padding(nameLength) > bytes.Length - position)
                throw fail($"section ValueLinks: field {f} has an impossible name length {nameLength}");
            names.Add(Encoding.UTF8.GetString(bytes.Slice(position, nameLength)));
            position += nameLength + Padding(nameLength);
            int maxLinks = ReadInt32(bytes, ref position, $"field {f}'s row length", fail);
            long rowsBytes = (long)nodes * (1 + Math.Max(0, maxLinks)) * sizeof(int);
            if (maxLinks < 0 || rowsBytes > bytes.Length - position) throw fail($"section ValueLinks: field {f}'s rows run past the section");
            position += (int)rowsBytes;
        }
        return names;
    }

    private static int Padding(int length) => (4 - length % 4) % 4;

    private static int ReadInt32(ReadOnlySpan<byte> bytes, ref int position, string what, Func<string, Exception> fail)
    {
        if (bytes.Length - position < 4) throw fail($"section ValueLinks ends before {what}");
        int value = BinaryPrimitives.ReadInt32LittleEndian(bytes[position..]);
        position += 4;
        return value;
    }
}
