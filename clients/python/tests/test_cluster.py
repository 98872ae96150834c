"""Read-your-writes on a cluster collection: the client keeps the shard sequences its writes were given and sends them
with consistent reads. One annserver node in cluster mode over one nats-server."""

from __future__ import annotations

import numpy as np

import annserver


def test_writes_leave_sequences_that_consistent_reads_send(cluster_node, name):
    with annserver.Client(cluster_node.address, timeout=60) as client:
        client.create_collection(name, dimension=4, shards=2, replicas=1)
        vectors = np.random.default_rng(5).standard_normal((40, 4)).astype(np.float32)
        client.upsert(name, np.arange(40), vectors, batch_size=20)
        after_upsert = client.sequences(name)
        assert set(after_upsert) == {0, 1} and all(sequence > 0 for sequence in after_upsert.values())

        hits = client.search(name, vectors[7], k=1, consistent=True)
        assert hits.ids.tolist() == [7]
        assert client.get(name, [7, 39], consistent=True).vectors.tobytes() == vectors[[7, 39]].tobytes()

        client.delete(name, [7])
        after_delete = client.sequences(name)
        assert any(after_delete[shard] > after_upsert[shard] for shard in after_delete)
        assert all(after_delete[shard] >= after_upsert[shard] for shard in after_upsert)
        assert 7 not in client.search(name, vectors[7], k=3, consistent=True).ids
