"""rescore and oversampling (QuantizationParams) on an int8 collection through a real server, against distances
computed here with numpy."""

from __future__ import annotations

import math

import numpy as np
import pytest

from annserver import InvalidArgumentError

DIMENSION = 16


def _int8_points(client, name, rows: int = 1000) -> np.ndarray:
    vectors = np.random.default_rng(11).uniform(-1, 1, (rows, DIMENSION)).astype(np.float32)
    client.create_collection(name, dimension=DIMENSION, metric="l2", quantization="int8")
    client.upsert(name, np.arange(rows), vectors)
    return vectors


def _exact(vectors: np.ndarray, query: np.ndarray, ids: np.ndarray) -> np.ndarray:
    return ((vectors[ids] - query) ** 2).sum(axis=1, dtype=np.float32)


def test_without_rescore_the_distances_are_the_codes_estimates(client, name):
    vectors = _int8_points(client, name)
    queries = np.random.default_rng(12).uniform(-1, 1, (10, DIMENSION)).astype(np.float32)
    differing = 0
    for query in queries:
        rescored = client.search(name, query, k=10, ef=64)
        oversampled = client.search(name, query, k=10, ef=64, oversampling=1.5)
        codes = client.search(name, query, k=10, ef=64, rescore=False)
        np.testing.assert_allclose(rescored.distances, _exact(vectors, query, rescored.ids), rtol=1e-5)
        np.testing.assert_allclose(oversampled.distances, _exact(vectors, query, oversampled.ids), rtol=1e-5)
        assert len(codes.ids) == 10
        differing += int((~np.isclose(codes.distances, _exact(vectors, query, codes.ids), rtol=1e-5)).sum())
    assert differing >= 90, f"{differing} of 100 hits without the re-rank carry the float32 distance"


def test_batch_and_stream_take_the_options_as_search_does(client, name):
    _int8_points(client, name)
    queries = np.random.default_rng(13).uniform(-1, 1, (6, DIMENSION)).astype(np.float32)
    batch = client.search_batch(name, queries, k=10, ef=64, rescore=False)
    stream = client.search_stream(name, queries, k=10, ef=64, rescore=False, window=4)
    for row, query in enumerate(queries):
        single = client.search(name, query, k=10, ef=64, rescore=False)
        assert batch.ids[row].tolist() == single.ids.tolist() == stream.ids[row].tolist()
        assert batch.distances[row].tolist() == single.distances.tolist() == stream.distances[row].tolist()


@pytest.mark.parametrize("oversampling", [0.5, 101.0, math.inf, math.nan])
def test_an_oversampling_outside_one_to_one_hundred_is_refused(client, name, oversampling):
    _int8_points(client, name, rows=20)
    with pytest.raises(InvalidArgumentError, match=r"quantization\.oversampling.*at most 100"):
        client.search(name, np.zeros(DIMENSION, np.float32), k=5, oversampling=oversampling)
