using AnnServer.Harness.Cli;
using Xunit;

namespace AnnServer.Harness.Tests;

public class CliParsersTests
{
    [Fact]
    public void EfListIsParsedInOrder()
    {
        Assert.True(CliParsers.TryParsePositiveList("10, 20,40", out var values, out _));
        Assert.Equal([10, 20, 40], values);
    }

    [Theory]
    [InlineData("10,x")]
    [InlineData("0")]
    [InlineData("-5")]
    [InlineData("")]
    public void BadEfListIsRejectedWithTheBadValue(string text)
    {
        Assert.False(CliParsers.TryParsePositiveList(text, out _, out string error));
        Assert.NotEmpty(error);
    }

    [Theory]
    [InlineData("30s", 30)]
    [InlineData("2m", 120)]
    [InlineData("500ms", 0.5)]
    [InlineData("1h", 3600)]
    [InlineData("1.5", 1.5)]
    public void DurationsAreParsed(string text, double seconds)
    {
        Assert.True(CliParsers.TryParseDuration(text, out var duration));
        Assert.Equal(seconds, duration.TotalSeconds, 9);
    }

    [Theory]
    [InlineData("fast")]
    [InlineData("-3s")]
    [InlineData("0s")]
    public void BadDurationsAreRejected(string text) => Assert.False(CliParsers.TryParseDuration(text, out _));

    [Fact]
    public void LoadTakesAWarmUpOfZeroButNoNegativeOne()
    {
        string[] required = ["--collection", "c", "--queries", "q.fvecs"];
        var zero = LoadCommand.Create().Parse([.. required, "--warmup", "0s"]);
        Assert.Empty(zero.Errors);
        Assert.Equal(TimeSpan.Zero, zero.GetValue<TimeSpan>("--warmup"));
        Assert.NotEmpty(LoadCommand.Create().Parse([.. required, "--warmup", "-1s"]).Errors);
    }
}
