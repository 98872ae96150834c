using FsCheck;
using FsCheck.Fluent;

namespace AnnServer.Fuzz.Tests;

/// <summary>
/// A random way to damage a file, applied to bytes of any length: positions are fractions of the length (half of them
/// in the first 512 bytes, where headers and section tables live), so one generated damage fits every file.
/// </summary>
public sealed record Damage(string Kind, double[] Where, byte[] Masks, double Cut, byte[] Garbage)
{
    public override string ToString() =>
        $"{Kind}: at [{string.Join(", ", Where.Select(w => w.ToString("F4")))}] masks {Convert.ToHexString(Masks)} cut {Cut:F4} garbage {Garbage.Length} B";

    public byte[] Apply(byte[] original)
    {
        byte[] bytes = [.. original];
        int n = bytes.Length;
        switch (Kind)
        {
            case "flip":
                for (int i = 0; i < Where.Length; i++) bytes[Position(i, n)] ^= Masks[i];
                return bytes;
            case "truncate":
                return bytes[..(int)(Cut * n)];
            case "flip+truncate":
                for (int i = 0; i < Where.Length; i++) bytes[Position(i, n)] ^= Masks[i];
                return bytes[..(int)(Cut * n)];
            case "zero-range":
            {
                int start = Position(0, n);
                Array.Clear(bytes, start, Math.Min(n - start, 1 + Garbage.Length * 8));
                return bytes;
            }
            case "overwrite":
            {
                int start = Position(0, n);
                Garbage.AsSpan(0, Math.Min(Garbage.Length, n - start)).CopyTo(bytes.AsSpan(start));
                return bytes;
            }
            case "extend":
                return [.. bytes, .. Garbage];
            case "garbage":
                return [.. Garbage];
            default:
                throw new InvalidOperationException(Kind);
        }
    }

    /// <summary>Position i: the first half of the draws land in the first 512 bytes.</summary>
    private int Position(int i, int length)
    {
        double fraction = Where[i % Where.Length];
        int position = i % 2 == 0 ? (int)(fraction * Math.Min(length, 512)) : (int)(fraction * length);
        return Math.Clamp(position, 0, Math.Max(0, length - 1));
    }

    public static Gen<Damage> Any { get; } =
        from kind in Gen.Frequency(
            (6, Gen.Constant("flip")), (3, Gen.Constant("truncate")), (2, Gen.Constant("flip+truncate")),
            (1, Gen.Constant("zero-range")), (2, Gen.Constant("overwrite")), (1, Gen.Constant("extend")), (1, Gen.Constant("garbage")))
        from count in Gen.Frequency((4, Gen.Choose(1, 2)), (2, Gen.Choose(3, 8)), (1, Gen.Choose(9, 40)))
        from positions in Gen.ArrayOf(Gen.Choose(0, 1_000_000).Select(p => p / 1_000_000.0), count)
        from masks in Gen.ArrayOf(Gen.Frequency((3, Gen.Choose(1, 255)), (1, Gen.Elements(0x80, 0x01, 0xFF, 0x7F))).Select(b => (byte)b), count)
        from cut in Gen.Choose(0, 999_999).Select(p => p / 1_000_000.0)
        from garbage in Gen.Choose(0, 300).SelectMany(length => Gen.ArrayOf(
            Gen.Frequency((3, Gen.Choose(0, 255)), (1, Gen.Elements(0, 0xFF, 0x7F, 0x80))).Select(b => (byte)b), length))
        select new Damage(kind, positions, masks, cut, garbage);
}
