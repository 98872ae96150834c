using System.CommandLine;
using AnnServer.Core;
using AnnServer.Core.Snapshots;

namespace AnnServer.Build.Commands;

/// <summary><c>ann-build info</c>: a snapshot's header and sections, and whether every checksum holds.</summary>
internal static class InfoCommand
{
    public static Command Create(ToolConsole console)
    {
        var path = new Argument<string>("index") { Description = "Snapshot file" };
        var command = new Command("info", "Show a snapshot's header and sections and verify its checksums (exit 3 when one fails)") { path };
        command.SetAction((parse, _) => Task.FromResult(CommandRunner.Execute(console, () => Run(console, parse.GetRequiredValue(path)))));
        return command;
    }

    private static int Run(ToolConsole console, string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException(Directory.Exists(path) ? $"{path} is a folder, not a snapshot" : $"{path} does not exist", path);
        var info = Snapshot.ReadInfo(path, describePayload: true);
        var o = console.Out;
        o.WriteLine($"snapshot       {path}");
        o.WriteLine($"file size      {HumanFormat.Bytes(info.FileLength)} ({HumanFormat.Count(info.FileLength)} bytes)");
        o.WriteLine($"format         version {info.FormatVersion}");
        o.WriteLine($"points         {HumanFormat.Count(info.LiveCount)} live, {HumanFormat.Count(info.NodeCount)} nodes");
        o.WriteLine($"dimension      {info.Dimension}");
        o.WriteLine($"metric         {CommonOptions.MetricName(info.Metric)}");
        o.WriteLine($"M              {info.M}");
        o.WriteLine($"efConstruction {info.EfConstruction}");
        o.WriteLine($"quantization   {info.Quantization switch { VectorQuantization.Int8 => "int8", VectorQuantization.Int4 => "int4", _ => "none" }}");
        o.WriteLine($"log position   {info.LogPosition}");
        o.WriteLine($"source         {info.SourcePosition ?? "none"}");
        if (info.PayloadFields.Count == 0)
            o.WriteLine("payload        none");
        else
        {
            o.WriteLine("payload");
            int width = Math.Max(5, info.PayloadFields.Max(f => f.Name.Length));
            o.WriteLine($"  {"field".PadRight(width)} {"kind",-12} {"points",12}  keywords");
            foreach (var field in info.PayloadFields)
                o.WriteLine($"  {field.Name.PadRight(width)} {BuildCommand.PayloadKindName(field.Kind),-12} {field.Points,12}  {(field.DistinctKeywords > 0 ? field.DistinctKeywords.ToString() : "")}".TrimEnd());
        }
        o.WriteLine($"value links    {(info.LinkedFields.Count == 0 ? "none" : string.Join(", ", info.LinkedFields))}");
        o.WriteLine("sections");
        int nameWidth = Math.Max(8, info.Sections.Count == 0 ? 0 : info.Sections.Max(s => s.Name.Length));
        o.WriteLine($"  {"name".PadRight(nameWidth)} {"offset",14} {"length",14} {"size",10}  checksum");
        foreach (var section in info.Sections)
            o.WriteLine($"  {section.Name.PadRight(nameWidth)} {section.Offset,14} {section.Length,14} {HumanFormat.Bytes(section.Length),10}  {(section.ChecksumValid ? "ok" : "MISMATCH")}");
        if (info.AllChecksumsValid)
        {
            o.WriteLine("checksums      all valid");
            return ExitCodes.Success;
        }
        var bad = info.Sections.Where(s => !s.ChecksumValid).Select(s => s.Name);
        o.WriteLine("checksums      FAILED");
        return CommandRunner.Fail(console, null, $"{path}: checksums do not hold for section(s) {string.Join(", ", bad)}", ExitCodes.ChecksumMismatch);
    }
}
