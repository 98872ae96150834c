"""Vectors to and from the wire without a Python loop per component.

A packed ``repeated float`` field is its tag, its length in bytes, then the float32 components little-endian: exactly
the bytes of a C-contiguous float32 row (``row.tobytes()`` on a little-endian machine). Protobuf messages concatenate
by merging, so a request is the protobuf serialisation of its other fields followed by the vector fields written here.
Measured against ``point.vector.extend(row)`` with protobuf 3.21's cpp implementation: 19x faster at 784 dimensions
(bench.py, part 1; docs/clients.md, "Performance").
"""

from __future__ import annotations

import sys
from typing import Any, Sequence

import numpy as np
import numpy.typing as npt

from ._proto import vectors_pb2

_LENGTH_DELIMITED = 2
_UINT64_MASK = (1 << 64) - 1

if sys.byteorder != "little":  # pragma: no cover - protobuf's wire format is little-endian; so is every target we run on
    raise ImportError("annserver packs float32 vectors as raw little-endian bytes; this machine is big-endian")


def varint(value: int) -> bytes:
    """Base-128 varint of an unsigned 64-bit value (an int64 is sent as its two's complement)."""
    value &= _UINT64_MASK
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def length_delimited(field_number: int, body: bytes) -> bytes:
    return varint((field_number << 3) | _LENGTH_DELIMITED) + varint(len(body)) + body


def as_matrix(vectors: npt.ArrayLike, what: str) -> np.ndarray:
    """A 2-D float32 C-contiguous array: converted once, not at all when it already is one."""
    matrix = np.asarray(vectors)
    if matrix.ndim == 1:
        matrix = matrix.reshape(1, -1)
    if matrix.ndim != 2:
        raise ValueError(f"{what} must be a 2-D array (n, dimension), got shape {matrix.shape}")
    if matrix.shape[1] == 0:
        raise ValueError(f"{what} must have at least one component per vector, got shape {matrix.shape}")
    return np.ascontiguousarray(matrix, dtype=np.float32)


def as_vector(vector: npt.ArrayLike, what: str) -> np.ndarray:
    """A 1-D float32 C-contiguous array."""
    array = np.asarray(vector)
    if array.ndim == 2 and array.shape[0] == 1:
        array = array[0]
    if array.ndim != 1:
        raise ValueError(f"{what} must be a 1-D array (dimension,), got shape {array.shape}")
    return np.ascontiguousarray(array, dtype=np.float32)


def as_ids(ids: npt.ArrayLike, what: str = "ids") -> np.ndarray:
    array = np.asarray(ids)
    if array.ndim == 0:
        array = array.reshape(1)
    if array.ndim != 1:
        raise ValueError(f"{what} must be a 1-D array of int64, got shape {array.shape}")
    if array.size and not np.issubdtype(array.dtype, np.integer):
        raise TypeError(f"{what} must be integers, got dtype {array.dtype}")
    return array.astype(np.int64, copy=False)


def packed_floats(field_number: int, row: np.ndarray) -> bytes:
    return length_delimited(field_number, row.tobytes())


def point_bytes(point_id: int, row: np.ndarray, payload: bytes) -> bytes:
    """An ann.v1.Point: id (field 1), vector (field 2), then its payload (field 4) as protobuf serialised it."""
    return b"\x08" + varint(point_id) + packed_floats(2, row) + payload


def floats_of(values: Any, dimension: int) -> np.ndarray:
    """A repeated float field as float32: the values read back are the float32 bits that were sent."""
    return np.fromiter(values, dtype=np.float32, count=dimension)


def payload_selector(with_payload: bool | Sequence[str] | None) -> vectors_pb2.PayloadSelector | None:
    if with_payload is None:
        return None
    if isinstance(with_payload, bool):
        return vectors_pb2.PayloadSelector(all=with_payload)
    if isinstance(with_payload, str):
        raise TypeError("with_payload takes a bool or a list of field names, not one string")
    return vectors_pb2.PayloadSelector(fields=vectors_pb2.FieldNames(names=list(with_payload)))
