"""100,000 points through the client, and the search quality a user sees: recall@10 against brute force in numpy."""

from __future__ import annotations

import numpy as np


def test_a_hundred_thousand_points_are_searched_with_recall_at_10_of_at_least_095(client, name):
    rng = np.random.default_rng(22)
    points, dimension, queries, k = 100_000, 16, 200, 10
    # Clustered data, as embeddings are: 1,000 centres with points scattered around them.
    centres = rng.standard_normal((1000, dimension)).astype(np.float32) * 4
    vectors = centres[rng.integers(0, 1000, points)] + rng.standard_normal((points, dimension)).astype(np.float32)
    ids = rng.permutation(points).astype(np.int64) + 1_000_000
    client.create_collection(name, dimension=dimension, metric="l2", m=8, ef_construction=40)
    written = client.upsert(name, ids, vectors, batch_size=5000, timeout=300)
    assert written.inserted == points
    assert client.count(name) == points

    query_rows = rng.choice(points, queries, replace=False)
    query_vectors = vectors[query_rows] + rng.standard_normal((queries, dimension)).astype(np.float32) * 0.1
    found = client.search_batch(name, query_vectors, k=k, ef=128)

    squared = ((query_vectors ** 2).sum(1)[:, None] - 2 * query_vectors @ vectors.T + (vectors ** 2).sum(1)[None, :])
    truth = ids[np.argpartition(squared, k, axis=1)[:, :k]]
    recall = np.mean([len(np.intersect1d(found.ids[i], truth[i])) / k for i in range(queries)])
    assert recall >= 0.95, f"recall@10 {recall:.3f}"
    # A sample of the vectors reads back bit for bit.
    sample = ids[:500]
    assert client.get(name, sample).vectors.tobytes() == vectors[:500].tobytes()
