// Test classes run in parallel (one collection per class, as many at once as the machine has cores) except the ones
// on the shared cluster of annserver processes and the opt-in benchmarks: those are in collections with
// DisableParallelization (SharedClusterCollection, OwnClusterCollection), which xUnit runs one at a time after every
// parallel one has finished. Their tests kill, freeze and time processes against deadlines of seconds; on a 2-core
// machine other tests beside them only make those deadlines flaky. The parallel ones use one NATS cluster of their own
// per class (free ports, their own store folders), in-process nodes, or nothing at all; StreamTrimClusterTests runs
// its own cluster of processes among them, with deadlines of 30-60 s.
[assembly: CollectionBehavior(CollectionBehavior.CollectionPerClass)]
[assembly: TestCollectionOrderer("AnnServer.Cluster.Tests.LongestFirstCollectionOrderer", "AnnServer.Cluster.Tests")]
