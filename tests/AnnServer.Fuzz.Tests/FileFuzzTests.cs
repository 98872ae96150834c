using System.Buffers.Binary;
using System.IO.Hashing;
using AnnServer.Core;
using AnnServer.Core.Snapshots;
using AnnServer.Storage;
using AnnServer.Tests;
using FsCheck;
using FsCheck.Fluent;
using Xunit.Abstractions;
using TestData = AnnServer.Tests.TestData;

namespace AnnServer.Fuzz.Tests;

/// <summary>
/// Snapshot and log files with random damage (<see cref="Damage"/>): reading one gives the documented exception with a
/// message, or data that is whole; never another exception, a crash or an out-of-memory. Each property counts what
/// happened, so a run shows that the damage reached past the first check.
/// </summary>
public sealed class FileFuzzTests(ITestOutputHelper output) : IDisposable
{
    private const int Dimension = 16;
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    // ---- snapshots ------------------------------------------------------------------------------------------

    [Theory]
    [InlineData(VectorQuantization.None)]
    [InlineData(VectorQuantization.Int8)]
    public void ADamagedSnapshotIsRefusedWithSnapshotFormatExceptionOrLoadsWhole(VectorQuantization quantization)
    {
        byte[] original = SnapshotBytes(quantization, out float[] vectors);
        var outcomes = new Dictionary<string, int>();
        int file = 0;

        Prop.ForAll(Arb.From(Gen.Zip(Damage.Any, Gen.Elements(false, true))), input =>
        {
            var (damage, readIntoMemory) = input;
            string path = _folder.File($"s{file++}.snap");
            File.WriteAllBytes(path, damage.Apply(original));
            try
            {
                LoadedSnapshot loaded = Snapshot.Load(path, new SnapshotLoadOptions { ReadIntoMemory = readIntoMemory });
                using HnswIndex index = loaded.Index;
                // Loaded despite the damage (it missed every checked byte): the index must be whole.
                SearchHit[] hits = index.Search(TestData.Row(vectors, Dimension, 7), 5, 32);
                if (index.Count != 300 || hits.Length != 5 || hits[0].Id != 7)
                    throw new Exception($"{damage}: loaded a different index ({index.Count} points, first hit {hits.FirstOrDefault().Id})");
                Count(outcomes, "loaded whole");
            }
            catch (SnapshotFormatException e)
            {
                if (string.IsNullOrWhiteSpace(e.Message)) throw new Exception($"{damage}: refused without a message");
                Count(outcomes, "refused: " + Reason(e.Message.Replace(path, "FILE")));
            }
            File.Delete(path);
        }).Check(FuzzSettings.Cases(300));

        Report($"snapshot ({quantization})", outcomes);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void WithoutChecksumsADamagedSnapshotStillCannotMakeLoadReadOutOfBoundsOrAllocateWildly(bool linkedField)
    {
        // SkipChecksums trusts the bytes, so only the structural checks stand between a damaged length and the
        // process: section sizes bounded by the file, counts bounded by the sections. Search on such an index is
        // outside the contract (the graph's contents are not checked), so only Load is exercised.
        byte[] original = SnapshotBytes(VectorQuantization.None, out _, linkedField);
        var outcomes = new Dictionary<string, int>();
        int file = 0;
        long before = GC.GetTotalAllocatedBytes();

        Prop.ForAll(Arb.From(Damage.Any), damage =>
        {
            string path = _folder.File($"u{file++}.snap");
            File.WriteAllBytes(path, damage.Apply(original));
            try
            {
                using HnswIndex index = Snapshot.Load(path, new SnapshotLoadOptions { SkipChecksums = true, ReadIntoMemory = true }).Index;
                Count(outcomes, "loaded");
            }
            catch (SnapshotFormatException e)
            {
                Count(outcomes, "refused: " + Reason(e.Message.Replace(path, "FILE")));
            }
            File.Delete(path);
        }).Check(FuzzSettings.Cases(200));

        long allocatedPerCase = (GC.GetTotalAllocatedBytes() - before) / Math.Max(1, file);
        Report(linkedField ? "snapshot with a linked field, without checksums" : "snapshot without checksums", outcomes);
        output.WriteLine($"  allocated {allocatedPerCase / 1024} KiB per case (file {original.Length / 1024} KiB)");
        Assert.True(allocatedPerCase < 64L << 20, $"{allocatedPerCase} bytes allocated per load of a {original.Length}-byte file");
    }

    /// <summary>300 points, some with labels; with <paramref name="linkedField"/> also a linked keyword field "k" (a
    /// Payload and a ValueLinks section).</summary>
    private byte[] SnapshotBytes(VectorQuantization quantization, out float[] vectors, bool linkedField = false)
    {
        vectors = TestData.RandomVectors(300, Dimension, seed: 5);
        using var index = new HnswIndex(new HnswOptions
        {
            Dimension = Dimension, Metric = DistanceMetric.L2, M = 8, EfConstruction = 64, Quantization = quantization,
            LinkedFields = linkedField ? ["k"] : [],
        });
        for (int i = 0; i < 300; i++)
        {
            if (linkedField)
                index.Upsert(i, vectors.AsSpan(i * Dimension, Dimension), new Core.Payloads.Payload { { "k", $"v{i % 4}" } });
            else
                index.Upsert(i, vectors.AsSpan(i * Dimension, Dimension), i % 3 == 0 ? [i % 5, 100] : default);
        }
        string path = _folder.File($"original-{quantization}-{linkedField}.snap");
        Snapshot.Save(index, path, logPosition: 4242);
        return File.ReadAllBytes(path);
    }

    // ---- log records ----------------------------------------------------------------------------------------

    [Fact]
    public void ADamagedLogRecordIsRefusedWithLogRecordFormatException()
    {
        LogRecord[] records = Records();
        var outcomes = new Dictionary<string, int>();

        // "resealed": the damage is made, then the length and checksum are rewritten to match, as a buggy or hostile
        // writer would: the checks behind the checksum are exercised too.
        Prop.ForAll(Arb.From(Gen.Zip(Gen.Zip(Gen.Choose(0, records.Length - 1), Damage.Any), Gen.Elements(false, true))), input =>
        {
            var ((which, damage), reseal) = input;
            byte[] bytes = damage.Apply(LogRecordCodec.Encode(records[which]));
            if (reseal) Reseal(bytes);
            try
            {
                LogRecord decoded = LogRecordCodec.Decode(bytes);
                if (!reseal && !SameRecord(decoded, records[which]))
                    throw new Exception($"{damage}: decoded a different record without resealing");
                Count(outcomes, reseal ? "resealed, decoded" : "decoded");
            }
            catch (LogRecordFormatException e)
            {
                Count(outcomes, (reseal ? "resealed, refused: " : "refused: ") + Reason(e.Message));
            }
        }).Check(FuzzSettings.Cases(3000));

        Report("log record", outcomes);
    }

    private static void Reseal(byte[] bytes)
    {
        if (bytes.Length < LogRecordCodec.MinRecordSize) return;
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(8), bytes.Length);
        int body = bytes.Length - LogRecordCodec.ChecksumSize;
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(body), XxHash64.HashToUInt64(bytes.AsSpan(0, body)));
    }

    // ---- log folders ----------------------------------------------------------------------------------------

    [Fact]
    public async Task ADamagedLogFolderReplaysAPrefixOfItsRecordsOrIsRefused()
    {
        var options = new CollectionLogOptions { PageSizeBits = 12, MemorySizeBits = 14, SegmentSizeBits = 16 };
        LogRecord[] records = Records();
        string original = Path.Combine(_folder.Path, "log-original");
        await using (CollectionLog log = CollectionLog.Open(original, options))
        {
            foreach (LogRecord record in records)
                await log.AppendAsync(record);
        }
        // FASTER removes outdated commit files in the background after the log is closed: wait until the folder is still.
        string[] files = [];
        for (int i = 0; i < 50; i++)
        {
            await Task.Delay(100);
            string[] now = Directory.GetFiles(original, "*", SearchOption.AllDirectories)
                .Select(f => Path.GetRelativePath(original, f)).Order(StringComparer.Ordinal).ToArray();
            if (now.SequenceEqual(files)) break;
            files = now;
        }
        var outcomes = new Dictionary<string, int>();
        int folder = 0;
        output.WriteLine($"log files: {string.Join(", ", files)}");

        // Segments (log.N) are damaged most often; FASTER's commit files too.
        Gen<string> file = Gen.Frequency(
            (4, Gen.Elements(files.Where(f => Path.GetFileName(f).StartsWith("log.", StringComparison.Ordinal)).ToArray())),
            (1, Gen.Elements(files)));
        Prop.ForAll(Arb.From(Gen.Zip(file, Damage.Any)), input =>
        {
            var (target, damage) = input;
            string copy = Path.Combine(_folder.Path, $"log{folder++}");
            foreach (string f in files)
            {
                Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(copy, f))!);
                File.Copy(Path.Combine(original, f), Path.Combine(copy, f));
            }
            string damaged = Path.Combine(copy, target);
            File.WriteAllBytes(damaged, damage.Apply(File.ReadAllBytes(damaged)));

            var applied = new List<LogRecord>();
            try
            {
                CollectionLog log = CollectionLog.Open(copy, options);
                try
                {
                    ReplayResult result = log.Replay(0, (record, _) => applied.Add(record));
                    for (int i = 0; i < applied.Count; i++)
                        if (i >= records.Length || !SameRecord(applied[i], records[i]))
                            throw new Exception($"{target} {damage}: record {i} replayed is not the record {i} written");
                    Count(outcomes, result.DroppedTail is null
                        ? (applied.Count == records.Length ? "replayed all" : $"replayed a prefix, clean")
                        : "replayed a prefix, dropped the tail: " + Reason(result.DroppedTail.Reason));
                }
                finally
                {
                    log.DisposeAsync().AsTask().GetAwaiter().GetResult();
                }
            }
            catch (CollectionLogCorruptException e)
            {
                Count(outcomes, "refused at open: " + Reason(e.Message));
            }
            Directory.Delete(copy, recursive: true);
        }).Check(FuzzSettings.Cases(60));

        Report("log folder", outcomes);
    }

    private static LogRecord[] Records()
    {
        var records = new List<LogRecord>();
        for (int i = 0; i < 40; i++)
        {
            int count = 1 + i % 7;
            long[] ids = Enumerable.Range(i * 10, count).Select(x => (long)x).ToArray();
            records.Add(i % 4 == 3
                ? LogRecord.Delete("c", ids)
                : LogRecord.Upsert("c", 8, ids, TestData.RandomVectors(count, 8, seed: i),
                    i % 2 == 0 ? ids.Select(id => new[] { (int)(id % 5) }).ToArray() : null));
        }
        // Format version 3: upserts with payload blobs and payload changes (the blobs are opaque to the log).
        for (int i = 40; i < 48; i++)
        {
            int count = 1 + i % 3;
            long[] ids = Enumerable.Range(i * 10, count).Select(x => (long)x).ToArray();
            byte[]?[] blobs = ids.Select(id => id % 4 == 3 ? null : Enumerable.Range(0, (int)(id % 13) + 1).Select(b => (byte)(id + b)).ToArray()).ToArray();
            records.Add(i % 2 == 0
                ? LogRecord.Upsert("c", 8, ids, TestData.RandomVectors(count, 8, seed: i), payloads: blobs)
                : LogRecord.SetPayload("c", (LogPayloadMode)(1 + i % 3), ids, blobs));
        }
        return [.. records];
    }

    private static bool SameRecord(LogRecord a, LogRecord b) =>
        a.Operation == b.Operation && a.Collection == b.Collection && a.Dimension == b.Dimension
        && a.Ids.AsSpan().SequenceEqual(b.Ids) && (a.Vectors ?? []).AsSpan().SequenceEqual(b.Vectors ?? [])
        && a.PayloadMode == b.PayloadMode && SamePayloads(a.Payloads, b.Payloads);

    /// <summary>Null and empty blobs are the same (no payload): an empty blob is written as length 0 and read back as null.</summary>
    private static bool SamePayloads(byte[]?[]? a, byte[]?[]? b)
    {
        if (a is null || b is null) return (a ?? b) is null || Array.TrueForAll(a ?? b!, p => p is not { Length: > 0 });
        if (a.Length != b.Length) return false;
        for (int i = 0; i < a.Length; i++)
            if (!(a[i] ?? []).AsSpan().SequenceEqual(b[i] ?? [])) return false;
        return true;
    }

    // ---- reporting ------------------------------------------------------------------------------------------

    private static void Count(Dictionary<string, int> outcomes, string outcome) =>
        outcomes[outcome] = outcomes.GetValueOrDefault(outcome) + 1;

    /// <summary>The start of a message, without its numbers, so that outcomes group by kind.</summary>
    private static string Reason(string message)
    {
        if (message.StartsWith("FILE: ", StringComparison.Ordinal)) message = message[6..];
        string words = new(message.TakeWhile(c => c is not (':' or '(' or ',')).ToArray());
        words = System.Text.RegularExpressions.Regex.Replace(words, @"\d+", "N");
        return words.Length > 70 ? words[..70] : words;
    }

    private void Report(string what, Dictionary<string, int> outcomes)
    {
        output.WriteLine($"{what}: {outcomes.Values.Sum()} cases (seed {FuzzSettings.Seed}, scale {FuzzSettings.Scale})");
        foreach (var (outcome, count) in outcomes.OrderByDescending(o => o.Value))
            output.WriteLine($"  {count,5}  {outcome}");
    }
}
