"""Recommend (both strategies) and group_by through a real server, against answers computed here with numpy."""

from __future__ import annotations

import numpy as np
import pytest

from annserver import Filter, GroupedResult, InvalidArgumentError, Match, RecommendResult


def _points(client, name, rows: int = 120, dimension: int = 8) -> np.ndarray:
    vectors = np.random.default_rng(7).standard_normal((rows, dimension)).astype(np.float32)
    client.create_collection(name, dimension=dimension, metric="l2")
    client.upsert(name, np.arange(rows), vectors, payloads=[{"kind": f"k{i % 3}", "shelf": i % 4} for i in range(rows)])
    return vectors


def _squared(vectors: np.ndarray, target: np.ndarray) -> np.ndarray:
    return ((vectors - target) ** 2).sum(axis=1)


def test_average_vector_is_the_nearest_to_the_positives_pushed_from_the_negatives(client, name):
    vectors = _points(client, name)
    result = client.recommend(name, positive=[3, 9], negative=[20], k=5, ef=200)
    target = vectors[3] + vectors[9] - vectors[20]
    distances = _squared(vectors, target)
    distances[[3, 9, 20]] = np.inf
    assert isinstance(result, RecommendResult)
    assert result.ids.tolist() == np.argsort(distances, kind="stable")[:5].tolist()
    assert result.missing_ids.tolist() == []


def test_best_score_ranks_by_the_nearest_positive_against_the_nearest_negative(client, name):
    vectors = _points(client, name)
    result = client.recommend(name, positive=[3, 9], negative=[20], k=5, ef=200, strategy="best_score")
    positive = np.minimum(_squared(vectors, vectors[3]), _squared(vectors, vectors[9]))
    negative = _squared(vectors, vectors[20])
    # docs/api.md, "Recommend and group-by": g(d) = d within [-1, 1], sign(d)(1 + ln|d|) beyond
    g = lambda d: np.where(np.abs(d) <= 1, d, np.sign(d) * (1 + np.log(np.maximum(np.abs(d), 1))))  # noqa: E731
    score = np.where(positive < negative, g(positive), 300 - g(negative))
    score[[3, 9, 20]] = np.inf
    assert result.ids.tolist() == np.argsort(score, kind="stable")[:5].tolist()


def test_inline_vectors_missing_ids_and_filters(client, name):
    vectors = _points(client, name)
    result = client.recommend(name, positive=[3, 99_999], positive_vectors=vectors[10:11], negative=[88_888], k=10,
                              filter=Filter(must=[Match("kind", "k1")]), with_payload=True)
    assert result.missing_ids.tolist() == [99_999, 88_888]
    assert len(result.ids) == 10 and all(p["kind"] == "k1" for p in result.payloads)
    assert 3 not in result.ids.tolist()


def test_all_positives_missing_is_refused(client, name):
    _points(client, name)
    with pytest.raises(InvalidArgumentError, match="positive_ids"):
        client.recommend(name, positive=[99_999], negative=[1], k=3)
    with pytest.raises(ValueError, match="strategy"):
        client.recommend(name, positive=[1], strategy="nearest")


def test_search_group_by_gives_groups_of_one_value_each(client, name):
    vectors = _points(client, name)
    grouped = client.search(name, vectors[5], group_by="shelf", group_size=2, groups=3, ef=200, with_payload=["shelf"])
    assert isinstance(grouped, GroupedResult)
    assert len(grouped.groups) == 3 and len({g.key for g in grouped.groups}) == 3
    for group in grouped.groups:
        assert len(group.ids) == 2 and all(p["shelf"] == group.key for p in group.payloads)
    # The exact grouped answer: points by distance, dealt into the first three values met, two each.
    expected: dict[int, list[int]] = {}
    for i in np.argsort(_squared(vectors, vectors[5]), kind="stable").tolist():
        if (i % 4 in expected or len(expected) < 3) and len(expected.setdefault(i % 4, [])) < 2:
            expected[i % 4].append(i)
    assert [(g.key, g.ids.tolist()) for g in grouped.groups] == list(expected.items())


def test_recommend_group_by(client, name):
    _points(client, name)
    grouped = client.recommend(name, positive=[3], negative=[7], strategy="best_score", group_by="kind", group_size=2, groups=3)
    assert sorted(g.key for g in grouped.groups) == ["k0", "k1", "k2"]
    assert all(len(g.ids) == 2 for g in grouped.groups)
