// Compares Parquet.Net and ParquetSharp reading a list<float> column row group by row group (ParquetVectorReader explains the choice).
//   dotnet build -c Release bench/parquet-compare --artifacts-path /tmp/art-pqc
//   dotnet /tmp/art-pqc/bin/ParquetCompare/release/ParquetCompare.dll write /tmp/v1m.parquet   # 1,000,000 x 128, 10 row groups, snappy (a third argument: fewer rows)
//   for i in 1 2 3; do for m in pqnet pqnet-raw pqnet-gc pqsharp; do dotnet /tmp/art-pqc/bin/ParquetCompare/release/ParquetCompare.dll $m /tmp/v1m.parquet; done; done
// ann-build's read phase, Parquet against fvecs of the same vectors:
//   TO_FVECS=/tmp/v1m.fvecs dotnet /tmp/art-pqc/bin/ParquetCompare/release/ParquetCompare.dll annserver /tmp/v1m.parquet
//   for i in 1 2 3; do for f in /tmp/v1m.parquet /tmp/v1m.fvecs; do dotnet /tmp/art-pqc/bin/ParquetCompare/release/ParquetCompare.dll annserver $f; done; done
using System.Diagnostics;
using Parquet;
using Parquet.Schema;

string mode = args[0], path = args[1];
var clock = Stopwatch.StartNew();
long rows = 0; double sum = 0;
if (mode == "write")
{
    int n = args.Length > 2 ? int.Parse(args[2]) : 1_000_000, d = 128, group = Math.Min(100_000, n);
    var item = new DataField<float>("element");
    var list = new ListField("embedding", item);
    var idField = new DataField<long>("id");
    var schema = new ParquetSchema(idField, list);
    using var fs = File.Create(path);
    await using var writer = await ParquetWriter.CreateAsync(schema, fs);
    var rng = new Random(1);
    for (int start = 0; start < n; start += group)
    {
        var ids = new long[group]; var values = new float[group * d]; var rep = new int[group * d];
        for (int r = 0; r < group; r++) { ids[r] = start + r; for (int j = 0; j < d; j++) { values[r * d + j] = rng.NextSingle(); rep[r * d + j] = j == 0 ? 0 : 1; } }
        using var rg = writer.CreateRowGroup();
        await rg.WriteAsync<long>(idField, ids);
        var def = new int[group * d]; Array.Fill(def, item.MaxDefinitionLevel); if (start == 0) Console.WriteLine($"list def {list.MaxDefinitionLevel} item def {item.MaxDefinitionLevel} rep {item.MaxRepetitionLevel}");
        await rg.WriteAllPartsAsync<float>(item, values, def, rep, default);
    }
}
else if (mode.StartsWith("pqnet"))
{
    using var fsr = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
    await using var reader = mode == "pqnet" ? await ParquetReader.CreateAsync(path) : await ParquetReader.CreateAsync(fsr);
    var item = reader.Schema.DataFields.First(f => f.Path.ToString()!.StartsWith("embedding"));
    for (int g = 0; g < reader.RowGroupCount; g++)
    {
        using var rg = reader.OpenRowGroupReader(g);
        using var raw = (Parquet.Data.RawColumnData<float>)await rg.ReadRawColumnDataBaseAsync(item);
        var rep = raw.RepetitionLevels;
        var v = raw.Values;
        for (int i = 0; i < rep.Length; i++) if (rep[i] == 0) rows++;
        for (int i = 0; i < v.Length; i += 128) sum += v[i];
        if (mode == "pqnet-gc") GC.Collect();
    }
}
else if (mode == "pqnet-raw")
{
    using var fsr = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
    await using var reader = await ParquetReader.CreateAsync(fsr);
    var item = reader.Schema.DataFields.First(f => f.Path.ToString()!.StartsWith("embedding"));
    float[] v = []; int[] def = [], rep = [];
    for (int g = 0; g < reader.RowGroupCount; g++)
    {
        using var rg = reader.OpenRowGroupReader(g);
        long n = rg.GetMetadata(item)!.MetaData!.NumValues;
        if (v.Length < n) { v = new float[n]; def = new int[n]; rep = new int[n]; }
        await rg.ReadRawAsync<float>(item, v.AsMemory(0, (int)n), def.AsMemory(0, (int)n), rep.AsMemory(0, (int)n), default);
        for (int i = 0; i < n; i++) if (rep[i] == 0) rows++;
        for (int i = 0; i < n; i += 128) sum += v[i];
    }
}
else if (mode == "annserver")
{
    // What ann-build's read phase does: VectorLoader over ParquetVectorReader (ids from the "id" column), or over any other format.
    var columns = path.EndsWith(".parquet", StringComparison.Ordinal) ? new AnnServer.Datasets.ParquetColumns("embedding", "id") : null;
    var loaded = AnnServer.Datasets.VectorLoader.Load(path, new AnnServer.Datasets.VectorLoadOptions { Parquet = columns });
    rows = loaded.Vectors.Count;
    if (Environment.GetEnvironmentVariable("TO_FVECS") is { } fvecs) AnnServer.Datasets.Texmex.WriteFvecs(fvecs, loaded.Vectors);
}
else if (mode == "pqsharp")
{
    using var file = new ParquetSharp.ParquetFileReader(path);
    int col = 1;
    var buffer = new float[]?[4096];
    for (int g = 0; g < file.FileMetaData.NumRowGroups; g++)
    {
        using var rg = file.RowGroup(g);
        long n = rg.MetaData.NumRows;
        using var reader = rg.Column(col).LogicalReader<float[]?>();
        while (reader.HasNext) { int got = reader.ReadBatch(buffer); for (int i = 0; i < got; i++) { rows++; sum += buffer[i]![0]; } }
    }
}
Console.WriteLine($"{mode}: {rows} rows in {clock.Elapsed.TotalSeconds:F2} s, peak working set {Process.GetCurrentProcess().PeakWorkingSet64 / 1048576} MiB (check {sum:F1})");
