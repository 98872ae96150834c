using System.Text;

namespace AnnServer.Storage.Tests;

/// <summary>What .NET reports for a symbolic link, and <see cref="LinkedFile"/> past it, on real links.</summary>
public sealed class LinkedFileTests
{
    [Fact]
    public void FileInfoOfALinkHasTheLinksOwnLengthNotItsTargets()
    {
        using var folder = new TempFolder();
        string target = Path.Combine(folder.Path, "target.bin");
        File.WriteAllBytes(target, new byte[10_000]);
        string link = Path.Combine(folder.Path, "link.bin");
        File.CreateSymbolicLink(link, target);

        // lstat's length: the bytes of the path the link holds. Why LinkedFile exists.
        Assert.Equal(Encoding.UTF8.GetByteCount(target), new FileInfo(link).Length);
    }

    [Fact]
    public void ResolveGivesTheFileAtTheEndOfTheLinks()
    {
        using var folder = new TempFolder();
        string target = Path.Combine(folder.Path, "target.bin");
        File.WriteAllBytes(target, new byte[10_000]);
        string link = Path.Combine(folder.Path, "link.bin");
        File.CreateSymbolicLink(link, "target.bin"); // relative: to the link's folder
        string linkToLink = Path.Combine(folder.Path, "link-to-link.bin");
        File.CreateSymbolicLink(linkToLink, link);

        Assert.Equal(10_000, LinkedFile.Resolve(link).Length);
        Assert.Equal(10_000, LinkedFile.Resolve(linkToLink).Length);
        Assert.Equal(target, LinkedFile.Resolve(linkToLink).FullName);
        Assert.Equal(10_000, LinkedFile.Resolve(target).Length);
    }

    [Fact]
    public void ALinkToNothingResolvesToAFileThatDoesNotExist()
    {
        using var folder = new TempFolder();
        string link = Path.Combine(folder.Path, "link.bin");
        File.CreateSymbolicLink(link, Path.Combine(folder.Path, "gone.bin"));

        Assert.False(LinkedFile.Resolve(link).Exists);
        Assert.False(LinkedFile.Resolve(Path.Combine(folder.Path, "nothing.bin")).Exists);
    }
}
