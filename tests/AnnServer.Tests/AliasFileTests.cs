using System.IO.Hashing;
using AnnServer.Collections;

namespace AnnServer.Tests;

/// <summary>The alias file's format (docs/aliases-format.md), byte for byte.</summary>
public sealed class AliasFileTests
{
    [Fact]
    public void GoldenBytesOfAVersion1FileMatchTheDocumentedLayout()
    {
        var expected = new List<byte>();
        expected.AddRange("ANNALIAS"u8.ToArray());      // 0  magic
        expected.AddRange([1, 0, 0, 0]);                // 8  version 1
        expected.AddRange([2, 0, 0, 0]);                // 12 two aliases
        expected.Add(4);                                // 16 alias length, sorted: "live" before "next"
        expected.AddRange("live"u8.ToArray());
        expected.Add(8);
        expected.AddRange("items-42"u8.ToArray());
        expected.Add(4);
        expected.AddRange("next"u8.ToArray());
        expected.Add(8);
        expected.AddRange("items-43"u8.ToArray());
        expected.AddRange(BitConverter.GetBytes(XxHash64.HashToUInt64(expected.ToArray())));

        byte[] actual = AliasFile.Serialize([new CollectionAlias("next", "items-43"), new CollectionAlias("live", "items-42")]);

        Assert.Equal(Convert.ToHexString(expected.ToArray()), Convert.ToHexString(actual));
        // Frozen: the same bytes as written by the first version of the format.
        Assert.Equal("414E4E414C4941530100000002000000046C69766508", Convert.ToHexString(actual)[..44]);
        Assert.Equal([new CollectionAlias("live", "items-42"), new CollectionAlias("next", "items-43")], AliasFile.Parse(actual, "aliases.bin"));
    }

    [Fact]
    public void AFileWithNoAliasesHasTheHeaderAndTheChecksumOnly()
    {
        byte[] bytes = AliasFile.Serialize([]);
        Assert.Equal(24, bytes.Length);
        Assert.Empty(AliasFile.Parse(bytes, "aliases.bin"));
    }

    [Theory]
    [InlineData(0, "magic")]
    [InlineData(8, "format version")]
    [InlineData(20, "checksum")]
    public void ADamagedFileIsRefusedNamingWhatIsWrong(int offset, string mention)
    {
        byte[] bytes = AliasFile.Serialize([new CollectionAlias("live", "items")]);
        bytes[offset] ^= 0x40;

        InvalidDataException e = Assert.Throws<InvalidDataException>(() => AliasFile.Parse(bytes, "/data/aliases.bin"));

        Assert.Contains("/data/aliases.bin", e.Message);
        Assert.Contains(mention, e.Message);
    }

    [Fact]
    public void WriteReplacesTheFileWholeAndLeavesNoTemporaryFile()
    {
        using var folder = new TempFolder();
        AliasFile.Write(folder.Path, [new CollectionAlias("live", "a")]);
        AliasFile.Write(folder.Path, [new CollectionAlias("live", "b"), new CollectionAlias("old", "a")]);

        Assert.Equal([new CollectionAlias("live", "b"), new CollectionAlias("old", "a")], AliasFile.Read(folder.Path));
        Assert.Equal([AliasFile.FileName], Directory.GetFiles(folder.Path).Select(Path.GetFileName));
    }

    [Fact]
    public void AnAliasFilePlacedAsALinkIsReadThroughIt()
    {
        using var folder = new TempFolder();
        string kept = Path.Combine(folder.Path, "kept");
        Directory.CreateDirectory(kept);
        AliasFile.Write(kept, [new CollectionAlias("live", "a")]);
        string data = Path.Combine(folder.Path, "data");
        Directory.CreateDirectory(data);
        File.CreateSymbolicLink(AliasFile.PathIn(data), AliasFile.PathIn(kept));

        Assert.Equal([new CollectionAlias("live", "a")], AliasFile.Read(data));
    }

    [Fact]
    public void ALinkedAliasFileIsHeldToTheSizeLimitByItsTargetsLength()
    {
        using var folder = new TempFolder();
        string huge = Path.Combine(folder.Path, "huge.bin");
        const long hugeBytes = 64L << 20; // past the 8.5 MB an alias file can be; sparse, so it costs no disk
        using (var file = new FileStream(huge, FileMode.CreateNew)) file.SetLength(hugeBytes);
        string data = Path.Combine(folder.Path, "data");
        Directory.CreateDirectory(data);
        File.CreateSymbolicLink(AliasFile.PathIn(data), huge);

        // Measured by the link's own length, the file passed the check and was read whole, then refused for its magic.
        InvalidDataException e = Assert.Throws<InvalidDataException>(() => AliasFile.Read(data));
        Assert.Contains($"it is {hugeBytes} bytes, more than an alias file can be", e.Message);
    }
}
