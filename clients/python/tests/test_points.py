"""Writing, reading and searching points, numpy in and out, through a real server."""

from __future__ import annotations

import numpy as np

from annserver import HasId


def _random(rows: int, dimension: int, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((rows, dimension)).astype(np.float32)


def test_get_returns_the_same_float32_bits_that_were_upserted(client, name):
    vectors = _random(64, 16)
    # Values with every mantissa bit in use, subnormals, signed zero: any double round trip would show.
    vectors[0, :6] = [np.float32(1) / 3, np.finfo(np.float32).tiny / 4, -0.0, np.float32(1e17),
                      np.finfo(np.float32).eps, np.nextafter(np.float32(1), np.float32(2))]
    client.create_collection(name, dimension=16, metric="l2")
    client.upsert(name, np.arange(64), vectors)
    points = client.get(name, np.arange(64))
    assert points.vectors.dtype == np.float32 and points.ids.dtype == np.int64
    assert points.vectors.tobytes() == vectors.tobytes()
    assert points.ids.tolist() == list(range(64))


def test_other_dtypes_and_layouts_are_converted_once(client, name):
    as_double_fortran = np.asfortranarray(_random(10, 8).astype(np.float64))
    client.create_collection(name, dimension=8)
    client.upsert(name, np.arange(10, dtype=np.int32), as_double_fortran)
    assert client.get(name, [3]).vectors[0].tobytes() == as_double_fortran[3].astype(np.float32).tobytes()
    strided_rows = _random(20, 8)[::2]
    client.upsert(name, np.arange(100, 110), strided_rows)
    assert client.get(name, [104]).vectors[0].tobytes() == strided_rows[4].tobytes()


def test_negative_and_large_ids_round_trip(client, name):
    ids = np.array([-1, 0, 2**63 - 1, -(2**63), 1 << 40], dtype=np.int64)
    client.create_collection(name, dimension=2)
    client.upsert(name, ids, _random(5, 2))
    assert client.get(name, ids).ids.tolist() == ids.tolist()


def test_upsert_in_batches_counts_inserted_and_replaced(client, name):
    client.create_collection(name, dimension=4)
    first = client.upsert(name, np.arange(25), _random(25, 4), batch_size=7)
    assert (first.inserted, first.replaced) == (25, 0)
    second = client.upsert(name, np.arange(20, 30), _random(10, 4), batch_size=3)
    assert (second.inserted, second.replaced) == (5, 5)
    assert client.count(name) == 30
    assert client.collection_info(name).writes_since_snapshot == 4 + 4


def test_search_returns_numpy_ids_and_distances_nearest_first(client, name):
    vectors = _random(100, 8)
    client.create_collection(name, dimension=8)
    client.upsert(name, np.arange(100), vectors)
    result = client.search(name, vectors[42], k=5, ef=100, with_vector=True)
    assert result.ids.dtype == np.int64 and result.distances.dtype == np.float32
    assert result.ids[0] == 42 and result.distances[0] == 0.0
    assert np.all(np.diff(result.distances) >= 0)
    expected = ((vectors[result.ids] - vectors[42]) ** 2).sum(axis=1)
    assert np.allclose(result.distances, expected, rtol=1e-5, atol=1e-5)
    assert result.vectors.tobytes() == vectors[result.ids].tobytes()
    assert result.server_time_micros > 0


def test_search_batch_answers_every_query_in_order(client, name):
    vectors = _random(200, 8)
    client.create_collection(name, dimension=8)
    client.upsert(name, np.arange(200), vectors)
    result = client.search_batch(name, vectors[[5, 17, 199]], k=3, ef=64)
    assert result.ids.shape == (3, 3) and result.distances.shape == (3, 3)
    assert result.ids[:, 0].tolist() == [5, 17, 199]
    assert result.counts.tolist() == [3, 3, 3]


def test_search_batch_pads_short_rows(client, name):
    client.create_collection(name, dimension=2)
    client.upsert(name, [1, 2], [[0, 0], [1, 1]])
    result = client.search_batch(name, [[0, 0], [1, 1]], k=4, filter=_only(1))
    assert result.counts.tolist() == [1, 1]
    assert result.ids.tolist() == [[1, -1, -1, -1], [1, -1, -1, -1]]
    assert np.isinf(result.distances[:, 1:]).all()


def _only(point_id: int):
    from annserver import Filter
    return Filter(must=[HasId([point_id])])


def test_delete_removes_points_and_counts_unknown_ids(client, name):
    client.create_collection(name, dimension=4)
    client.upsert(name, np.arange(10), _random(10, 4))
    deleted = client.delete(name, [1, 2, 3, 99])
    assert (deleted.deleted, deleted.not_found) == (3, 1)
    assert client.count(name) == 7
    assert client.get(name, [1, 4]).missing_ids.tolist() == [1]
    assert 2 not in client.search(name, np.zeros(4), k=10).ids


def test_payloads_round_trip_with_their_kinds(client, name):
    payloads = [{"color": "red", "price": 12.5, "stock": 3, "tags": ["a", "b"], "sizes": [38, 40], "sale": True},
                None, {"color": "blue"}]
    client.create_collection(name, dimension=2)
    client.upsert(name, [1, 2, 3], _random(3, 2), payloads=payloads)
    points = client.get(name, [1, 2, 3], with_vector=False)
    assert points.vectors is None
    assert points.payloads == [payloads[0], {}, payloads[2]]
    assert client.get(name, [1], with_payload=["price", "color"]).payloads == [{"price": 12.5, "color": "red"}]
    hits = client.search(name, np.zeros(2), k=3, with_payload=["color"])
    assert sorted(map(str, hits.payloads)) == sorted(map(str, [{"color": "red"}, {}, {"color": "blue"}]))


def test_set_payload_merges_or_replaces_and_delete_payload_removes(client, name):
    client.create_collection(name, dimension=2)
    client.upsert(name, [1, 2], _random(2, 2), payloads=[{"color": "red", "price": 1.0}, {"color": "blue"}])
    written = client.set_payload(name, [1, 2, 3], {"price": 9.5})
    assert (written.updated, written.not_found) == (2, 1)
    assert client.get(name, [1]).payloads == [{"color": "red", "price": 9.5}]
    client.set_payload(name, [1], {"stock": 4}, replace=True)
    assert client.get(name, [1]).payloads == [{"stock": 4}]
    client.delete_payload(name, [2], ["color"])
    assert client.get(name, [2]).payloads == [{"price": 9.5}]
    cleared = client.delete_payload(name, [1, 2])
    assert cleared.updated == 2
    assert client.get(name, [1, 2]).payloads == [{}, {}]


def test_scroll_pages_through_the_whole_collection_in_id_order(client, name):
    ids = np.random.default_rng(3).permutation(1000).astype(np.int64) * 7
    vectors = _random(1000, 4)
    client.create_collection(name, dimension=4)
    client.upsert(name, ids, vectors, payloads=[{"even": bool(i % 2 == 0)} for i in ids])
    pages = list(client.scroll(name, page_size=128, with_vector=True))
    assert [len(page.ids) for page in pages] == [128] * 7 + [104]
    seen = np.concatenate([page.ids for page in pages])
    assert seen.tolist() == sorted(ids.tolist())
    order = np.argsort(ids)
    assert np.concatenate([page.vectors for page in pages]).tobytes() == vectors[order].tobytes()


def test_count_and_scroll_of_an_empty_collection(client, name):
    client.create_collection(name, dimension=4)
    assert client.count(name) == 0
    pages = list(client.scroll(name))
    assert len(pages) == 1 and pages[0].ids.size == 0


def test_consistent_reads_send_the_remembered_sequences(client, name):
    client.create_collection(name, dimension=2)
    client.upsert(name, [1], [[0.0, 0.0]])
    # A local collection answers writes without sequences; the client has nothing to send.
    assert client.sequences(name) == {}
    assert client.search(name, [0.0, 0.0], k=1, consistent=True).ids.tolist() == [1]
    assert client.get(name, [1], consistent=True).ids.tolist() == [1]
