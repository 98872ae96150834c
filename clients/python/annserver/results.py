"""What the calls answer: numpy arrays for ids, distances and vectors; plain dicts for payloads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import numpy as np


@dataclass
class SearchResult:
    """One query's hits, nearest first: ``ids`` (int64) and ``distances`` (float32) of the same length."""

    ids: np.ndarray
    distances: np.ndarray
    payloads: Optional[list[dict[str, Any]]]
    vectors: Optional[np.ndarray]
    server_time_micros: int


@dataclass
class RecommendResult:
    """A recommendation's hits, best first, as :class:`SearchResult`'s; ``missing_ids`` (int64) are the example ids the
    collection does not hold (left out of the examples). With strategy "best_score", ``distances`` are the scores."""

    ids: np.ndarray
    distances: np.ndarray
    payloads: Optional[list[dict[str, Any]]]
    vectors: Optional[np.ndarray]
    missing_ids: np.ndarray
    server_time_micros: int


@dataclass
class Group:
    """One group of a grouped search: the field's value ``key`` its hits share, and the hits, nearest first."""

    key: Any
    ids: np.ndarray
    distances: np.ndarray
    payloads: Optional[list[dict[str, Any]]]


@dataclass
class GroupedResult:
    """A search or recommendation with ``group_by``: the groups in the order of their nearest hit; ``missing_ids`` as
    in :class:`RecommendResult` (empty for a search)."""

    groups: list[Group]
    missing_ids: np.ndarray
    server_time_micros: int


@dataclass
class BatchSearchResult:
    """Hits of many queries as (queries, k) arrays, row i for query i. A query with fewer than k hits has its row
    padded with id -1 and distance +inf; ``counts[i]`` is how many hits it has."""

    ids: np.ndarray
    distances: np.ndarray
    counts: np.ndarray
    payloads: Optional[list[list[dict[str, Any]]]]
    server_time_micros: int


@dataclass
class Points:
    """Points read back (Get, a Scroll page): ``ids`` (int64), ``vectors`` (n, dimension) float32 or None when not
    asked for, ``payloads`` one dict per point, ``labels`` one list per point."""

    ids: np.ndarray
    vectors: Optional[np.ndarray]
    payloads: list[dict[str, Any]]
    labels: list[list[int]]
    missing_ids: np.ndarray


@dataclass(frozen=True)
class UpsertResult:
    inserted: int
    replaced: int


@dataclass(frozen=True)
class DeleteResult:
    deleted: int
    not_found: int


@dataclass(frozen=True)
class PayloadWriteResult:
    updated: int
    not_found: int


@dataclass
class IdSetInfo:
    """A stored id set: its distinct ids, the bytes the server charges it (8 per id, 1 bit per node of the collection),
    and when it expires (Unix seconds as a float; None: never)."""

    name: str
    count: int
    bytes: int
    expires_at: Optional[float]
