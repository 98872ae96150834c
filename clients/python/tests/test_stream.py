"""search_stream: bulk scoring over one SearchStream call, through a real server."""

from __future__ import annotations

import numpy as np
import pytest

from annserver import Client, Filter, InvalidArgumentError, NotFoundError, UnauthenticatedError


def _random(rows: int, dimension: int, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((rows, dimension)).astype(np.float32)


def test_results_come_in_query_order_and_equal_search_batch(client, name):
    vectors = _random(1000, 16)
    client.create_collection(name, dimension=16)
    client.upsert(name, np.arange(1000), vectors)
    queries = _random(300, 16, seed=2)

    streamed = client.search_stream(name, queries, k=7, ef=64, window=8)
    batch = client.search_batch(name, queries, k=7, ef=64)

    assert streamed.ids.shape == (300, 7) and streamed.ids.dtype == np.int64
    assert np.array_equal(streamed.ids, batch.ids)
    assert np.array_equal(streamed.distances, batch.distances)
    assert streamed.counts.tolist() == [7] * 300
    # Each query's own vector is its nearest point: the rows are in query order.
    own = client.search_stream(name, vectors[:50], k=1, window=3)
    assert own.ids[:, 0].tolist() == list(range(50))


def test_several_rows_a_message_give_the_same_results_in_query_order(client, name):
    vectors = _random(500, 8)
    client.create_collection(name, dimension=8)
    client.upsert(name, np.arange(500), vectors)
    queries = _random(103, 8, seed=4)  # not a multiple of 4: the last message carries 3 rows

    streamed = client.search_stream(name, queries, k=5, ef=64, window=8, per_message=4)
    batch = client.search_batch(name, queries, k=5, ef=64)

    assert np.array_equal(streamed.ids, batch.ids)
    assert np.array_equal(streamed.distances, batch.distances)
    broken = queries[:8].copy()
    broken[5, 2] = np.nan  # the second message's second row: its error names the row
    with pytest.raises(InvalidArgumentError, match=r"queries\[5\]: "):
        client.search_stream(name, broken, k=1, per_message=4)
    with pytest.raises(ValueError, match="per_message"):
        client.search_stream(name, queries, k=1, per_message=0)


def test_filters_and_payloads_apply_to_every_query(client, name):
    vectors = _random(200, 4)
    client.create_collection(name, dimension=4)
    client.upsert(name, np.arange(200), vectors, payloads=[{"even": i % 2 == 0} for i in range(200)])
    from annserver import Match

    result = client.search_stream(name, vectors[:20], k=3, filter=Filter(must=[Match("even", True)]), with_payload=True)
    assert (result.ids % 2 == 0).all()
    assert all(hit == {"even": True} for row in result.payloads for hit in row)


def test_a_failed_search_raises_its_error_naming_the_row(client, name):
    client.create_collection(name, dimension=4)
    client.upsert(name, np.arange(10), _random(10, 4))
    # Answers come as searches finish: the first error may be any row's.
    with pytest.raises(InvalidArgumentError, match=r"queries\[[0-4]\]: .*dimension 4"):
        client.search_stream(name, _random(5, 3), k=1)
    with pytest.raises(NotFoundError, match="absent"):
        client.search_stream("absent", _random(5, 4), k=1)
    # The client is still usable after a cancelled stream.
    assert client.search_stream(name, _random(2, 4), k=1).ids.shape == (2, 1)


def test_a_stream_without_a_key_is_unauthenticated(secured_server):
    with Client(secured_server.address) as anonymous:
        with pytest.raises(UnauthenticatedError):
            anonymous.search_stream("c", _random(3, 4), k=1)


def test_search_stream_reaches_a_cluster_collection(cluster_node):
    with Client(cluster_node.address) as client:
        client.create_collection("streamed", dimension=8, shards=2, replicas=1)
        vectors = _random(100, 8)
        client.upsert("streamed", np.arange(100), vectors)
        result = client.search_stream("streamed", vectors[:20], k=1, consistent=True)
        assert result.ids[:, 0].tolist() == list(range(20))
