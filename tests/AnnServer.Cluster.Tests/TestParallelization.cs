// Test classes run in parallel (one collection per class, as many at once as the machine has cores) except the ones
// that run whole clusters of annserver processes: those are in collections with DisableParallelization
// (SharedClusterCollection, OwnClusterCollection), which xUnit runs one at a time after every parallel one has
// finished. Their tests kill, freeze and time processes against deadlines; on a 2-core machine other tests beside
// them only make those deadlines flaky. The parallel ones use one NATS cluster of their own per class (free ports,
// their own store folders), in-process nodes at most, or nothing at all.
[assembly: CollectionBehavior(CollectionBehavior.CollectionPerClass)]
