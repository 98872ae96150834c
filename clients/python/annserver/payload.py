"""Payloads between Python and ann.v1.PayloadValue: str → keyword, bool → boolean, int → integer, float → double, a
list of str → keyword list, a list of int → integer list. An empty list says nothing of its kind: write it as
``keyword_list()`` or ``integer_list()``."""

from __future__ import annotations

from typing import Any, Iterable, Mapping

import numpy as np

from ._proto import vectors_pb2


def keyword_list(values: Iterable[str] = ()) -> vectors_pb2.PayloadValue:
    """A keyword-list payload value (possibly empty)."""
    return vectors_pb2.PayloadValue(keyword_list=vectors_pb2.KeywordList(values=list(values)))


def integer_list(values: Iterable[int] = ()) -> vectors_pb2.PayloadValue:
    """An int64-list payload value (possibly empty)."""
    return vectors_pb2.PayloadValue(integer_list=vectors_pb2.IntegerList(values=[int(v) for v in values]))


def payload_proto(payload: Mapping[str, Any], what: str) -> dict[str, vectors_pb2.PayloadValue]:
    return {name: payload_value(value, f"{what}['{name}']") for name, value in payload.items()}


def payload_value(value: Any, what: str) -> vectors_pb2.PayloadValue:
    if isinstance(value, vectors_pb2.PayloadValue):
        return value
    if isinstance(value, (bool, np.bool_)):
        return vectors_pb2.PayloadValue(boolean=bool(value))
    if isinstance(value, str):
        return vectors_pb2.PayloadValue(keyword=value)
    if isinstance(value, (int, np.integer)):
        return vectors_pb2.PayloadValue(integer=int(value))
    if isinstance(value, (float, np.floating)):
        return vectors_pb2.PayloadValue(double_value=float(value))
    if isinstance(value, (list, tuple)):
        if value and all(isinstance(v, str) for v in value):
            return vectors_pb2.PayloadValue(keyword_list=vectors_pb2.KeywordList(values=value))
        if value and all(isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)) for v in value):
            return vectors_pb2.PayloadValue(integer_list=vectors_pb2.IntegerList(values=[int(v) for v in value]))
        raise TypeError(f"{what}: a list must be non-empty and all str or all int (an empty list: "
                        f"annserver.keyword_list() or annserver.integer_list()), got {value!r}")
    raise TypeError(f"{what}: unsupported payload type {type(value).__name__} (str, int, float, bool, list of str or int)")


def payload_python(fields: Mapping[str, vectors_pb2.PayloadValue]) -> dict[str, Any]:
    return {name: python_value(value) for name, value in fields.items()}


def python_value(value: vectors_pb2.PayloadValue) -> Any:
    kind = value.WhichOneof("kind")
    if kind == "keyword_list":
        return list(value.keyword_list.values)
    if kind == "integer_list":
        return list(value.integer_list.values)
    return getattr(value, kind) if kind else None
