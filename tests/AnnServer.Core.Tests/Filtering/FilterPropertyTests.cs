using AnnServer.Core.Filtering;
using FsCheck;
using FsCheck.Fluent;
using Microsoft.FSharp.Core;

namespace AnnServer.Core.Tests.Filtering;

/// <summary>Random filters against the brute-force <see cref="ReferenceFilter"/> on random payloads (FsCheck, fixed seed).</summary>
public class FilterPropertyTests
{
    private const int Points = 400;

    private static readonly Lazy<(FilterTestData.Point[] Points, HnswIndex Index)> Shared = new(() =>
    {
        var points = FilterTestData.Points(Points, seed: 5);
        return (points, FilterTestData.Index(points, seed: 6));
    });

    private static Config Cases(int cases) => Config.QuickThrowOnFailure
        .WithMaxTest(cases)
        .WithQuietOnSuccess(true)
        .WithReplay(FSharpOption<Replay>.Some(new Replay(new Rnd(20261206, 0x9E3779B97F4A7C15UL | 1), FSharpOption<int>.None)));

    [Fact]
    public void EveryFilterPassesExactlyThePointsTheReferencePasses()
    {
        var (points, index) = Shared.Value;
        int cases = 0, partial = 0;
        Prop.ForAll(Arb.From(FilterTestData.Filters(Points)), filter =>
        {
            long[] expected = [.. points.Where(p => ReferenceFilter.Passes(filter, p.Id, p.Payload, p.Labels)).Select(p => p.Id)];
            cases++;
            if (expected.Length is > 0 and < Points) partial++;
            long[] actual = index.Scroll(SearchFilter.Of(filter), afterId: null, limit: HnswIndex.MaxScrollLimit).Ids;
            if (!expected.SequenceEqual(actual))
                throw new Exception($"{filter}: expected {expected.Length} ids, got {actual.Length}; first difference at id " +
                    $"{expected.Except(actual).Concat(actual.Except(expected)).FirstOrDefault()}");
            if (index.CountMatching(SearchFilter.Of(filter)) != expected.Length) throw new Exception($"{filter}: CountMatching disagrees");
        }).Check(Cases(500));
        // The generator is worth its cases only if most filters pass some points and not others.
        Assert.True(partial > cases / 3, $"only {partial} of {cases} filters passed some but not all points");
    }

    [Fact]
    public void FilteredSearchReturnsOnlyPassingPointsAndTheExactNearestOfThem()
    {
        var (points, index) = Shared.Value;
        var random = new Random(7);
        Prop.ForAll(Arb.From(FilterTestData.Filters(Points)), filter =>
        {
            var passing = points.Where(p => ReferenceFilter.Passes(filter, p.Id, p.Payload, p.Labels)).Select(p => p.Id).ToHashSet();
            float[] query = [.. Enumerable.Range(0, FilterTestData.Dimension).Select(_ => (float)random.NextDouble())];
            var hits = index.Search(query, 10, 40, SearchFilter.Of(filter));
            var exact = index.ExactSearch(query, 10, SearchFilter.Of(filter));
            if (hits.Any(h => !passing.Contains(h.Id))) throw new Exception($"{filter}: returned a point that does not pass");
            if (exact.Length != Math.Min(10, passing.Count)) throw new Exception($"{filter}: exact search found {exact.Length} of {passing.Count}");
            if (hits.Length != exact.Length) throw new Exception($"{filter}: approximate search found {hits.Length}, exact {exact.Length}");
        }).Check(Cases(200));
    }

    [Fact]
    public void ExactFilteredSearchGivesTheNearestOfThePassingPoints()
    {
        var (points, index) = Shared.Value;
        var random = new Random(8);
        Prop.ForAll(Arb.From(FilterTestData.Filters(Points)), filter =>
        {
            var passing = points.Where(p => ReferenceFilter.Passes(filter, p.Id, p.Payload, p.Labels)).Select(p => p.Id).ToHashSet();
            float[] query = [.. Enumerable.Range(0, FilterTestData.Dimension).Select(_ => (float)random.NextDouble())];
            long[] expected = [.. index.ExactSearch(query, Points).Where(h => passing.Contains(h.Id)).Take(10).Select(h => h.Id)];
            long[] actual = [.. index.ExactSearch(query, 10, SearchFilter.Of(filter)).Select(h => h.Id)];
            if (!expected.SequenceEqual(actual)) throw new Exception($"{filter}: expected [{string.Join(", ", expected)}], got [{string.Join(", ", actual)}]");
        }).Check(Cases(300));
    }

    [Fact]
    public void LabelsAndExcludedIdsCombineWithTheExpression()
    {
        var (points, index) = Shared.Value;
        Prop.ForAll(Arb.From(FilterTestData.Filters(Points)), filter =>
        {
            var search = new SearchFilter([2, 3], [0, 1, 2, 3, 4, 5]) { Where = filter };
            long[] expected = [.. points
                .Where(p => p.Labels.Any(l => l is 2 or 3) && p.Id > 5 && ReferenceFilter.Passes(filter, p.Id, p.Payload, p.Labels))
                .Select(p => p.Id)];
            long[] actual = index.Scroll(search, null, HnswIndex.MaxScrollLimit).Ids;
            if (!expected.SequenceEqual(actual)) throw new Exception($"{filter}: expected {expected.Length} ids, got {actual.Length}");
        }).Check(Cases(100));
    }
}
