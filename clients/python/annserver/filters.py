"""A small, pythonic builder for ann.v1.Filter: ``Filter(must=[Match("color", "red"), Range("price", lt=50)])``.

Each condition maps onto one ann.v1.Condition; a Filter nested in another's list is a nested filter (depth at most 8,
64 conditions in all: the server checks and names the limit).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Sequence, Union

from ._proto import id_sets_pb2, vectors_pb2

MatchValue = Union[str, int, bool, Sequence[str], Sequence[int]]


@dataclass(frozen=True)
class Match:
    """The payload field ``key`` equals ``value``: a keyword, an integer or a bool; a list of keywords or of integers
    means any of them (for a list field: any element matches)."""

    key: str
    value: MatchValue

    def to_proto(self) -> vectors_pb2.Condition:
        match = vectors_pb2.Match()
        value = self.value
        if isinstance(value, bool):
            match.boolean = value
        elif isinstance(value, str):
            match.keyword = value
        elif isinstance(value, int):
            match.integer = value
        else:
            values = list(value)
            if values and all(isinstance(v, str) for v in values):
                match.keywords.values.extend(values)
            elif values and all(isinstance(v, int) and not isinstance(v, bool) for v in values):
                match.integers.values.extend(values)
            else:
                raise TypeError(f"Match('{self.key}'): a list value must be non-empty keywords or integers, got {values!r}")
        return vectors_pb2.Condition(field=vectors_pb2.FieldCondition(key=self.key, match=match))


@dataclass(frozen=True)
class Range:
    """The numeric payload field ``key`` lies within the given bounds (at least one)."""

    key: str
    gt: float | None = None
    gte: float | None = None
    lt: float | None = None
    lte: float | None = None

    def to_proto(self) -> vectors_pb2.Condition:
        bounds = {name: float(v) for name, v in (("gt", self.gt), ("gte", self.gte), ("lt", self.lt), ("lte", self.lte))
                  if v is not None}
        if not bounds:
            raise ValueError(f"Range('{self.key}'): give at least one of gt, gte, lt, lte")
        return vectors_pb2.Condition(field=vectors_pb2.FieldCondition(key=self.key, range=vectors_pb2.NumericRange(**bounds)))


@dataclass(frozen=True)
class IsNull:
    """The point has no value for ``key`` (an empty list is a value)."""

    key: str

    def to_proto(self) -> vectors_pb2.Condition:
        return vectors_pb2.Condition(is_null=vectors_pb2.IsNullCondition(key=self.key))


@dataclass(frozen=True)
class IsEmpty:
    """The point has no value for ``key``, or an empty list."""

    key: str

    def to_proto(self) -> vectors_pb2.Condition:
        return vectors_pb2.Condition(is_empty=vectors_pb2.IsEmptyCondition(key=self.key))


@dataclass(frozen=True)
class HasId:
    """The point's id is one of ``ids`` (under must_not: is none of them)."""

    ids: Sequence[int]

    def to_proto(self) -> vectors_pb2.Condition:
        return vectors_pb2.Condition(has_id=vectors_pb2.HasIdCondition(ids=[int(i) for i in self.ids]))


@dataclass(frozen=True)
class HasLabel:
    """The point carries at least one of ``labels``."""

    labels: Sequence[int]

    def to_proto(self) -> vectors_pb2.Condition:
        return vectors_pb2.Condition(labels=vectors_pb2.LabelsCondition(any_of=[int(i) for i in self.labels]))


@dataclass(frozen=True)
class InIdSet:
    """The point's id is in the collection's stored id set ``name`` (Client.put_id_set); under must_not: it is not.
    A set that does not exist (never put, deleted, expired, or lost when the server restarted) fails the call with
    NotFoundError naming it: put it again."""

    name: str

    def to_proto(self) -> vectors_pb2.Condition:
        return vectors_pb2.Condition(id_set=id_sets_pb2.IdSetCondition(name=self.name))


Condition = Union[Match, Range, IsNull, IsEmpty, HasId, HasLabel, InIdSet, "Filter"]


@dataclass(frozen=True)
class Filter:
    """A point passes when every ``must`` holds, at least one ``should`` (when any), and no ``must_not``."""

    must: Sequence[Condition] = field(default_factory=tuple)
    should: Sequence[Condition] = field(default_factory=tuple)
    must_not: Sequence[Condition] = field(default_factory=tuple)

    def to_proto(self) -> vectors_pb2.Condition:
        """As a nested condition of another filter."""
        return vectors_pb2.Condition(filter=self.to_filter_proto())

    def to_filter_proto(self) -> vectors_pb2.Filter:
        return vectors_pb2.Filter(must=_conditions(self.must), should=_conditions(self.should),
                                  must_not=_conditions(self.must_not))


def _conditions(conditions: Iterable[Condition]) -> list[vectors_pb2.Condition]:
    return [condition.to_proto() for condition in conditions]


def filter_proto(value: Filter | vectors_pb2.Filter | None) -> vectors_pb2.Filter | None:
    """A Filter from the builder or an ann.v1.Filter as is."""
    if value is None or isinstance(value, vectors_pb2.Filter):
        return value
    if isinstance(value, Filter):
        return value.to_filter_proto()
    raise TypeError(f"filter must be an annserver.Filter or an ann.v1.Filter, got {type(value).__name__}")
