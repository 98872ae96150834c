"""The AnnServer client: one gRPC channel, the collections and the points of every collection."""

from __future__ import annotations

import hashlib
import os
import threading
import time
from pathlib import Path
from typing import IO, Any, Callable, Iterator, Mapping, Optional, Sequence, TypeVar, Union

import grpc
import numpy as np
import numpy.typing as npt

from . import _wire, payload as _payload
from ._proto import collections_pb2, collections_pb2_grpc, id_sets_pb2, vectors_pb2, vectors_pb2_grpc
from .errors import AnnServerError, error_from_code, error_from_rpc
from .filters import Filter, filter_proto
from .results import (BatchSearchResult, DeleteResult, Group, GroupedResult, IdSetInfo, PayloadWriteResult, Points,
                      RecommendResult, SearchResult, UpsertResult)
from .retry import RetryPolicy

T = TypeVar("T")
FilterArg = Union[Filter, vectors_pb2.Filter, None]
PayloadArg = Union[bool, Sequence[str], None]

METRICS: dict[str, int] = {
    "l2": collections_pb2.METRIC_L2,
    "ip": collections_pb2.METRIC_INNER_PRODUCT,
    "inner_product": collections_pb2.METRIC_INNER_PRODUCT,
    "cosine": collections_pb2.METRIC_COSINE,
}
QUANTIZATIONS: dict[str, int] = {"none": collections_pb2.QUANTIZATION_NONE, "int8": collections_pb2.QUANTIZATION_INT8}

# A snapshot upload's chunk: well within the server's default --max-message-bytes (64 MiB), large enough that the
# per-message cost does not show.
UPLOAD_CHUNK_BYTES = 1 << 20
# Searches a search_stream keeps in flight: enough to keep the server's search slots busy over a round trip. Past the
# server's --max-stream-messages (4 per core) the rest wait in HTTP/2's buffers, which costs nothing but latency.
# With per_message > 1 they go as window // per_message messages (at least one): a message may list up to the server's
# --max-stream-in-flight searches, by default as many as a SearchBatch (1,024).
DEFAULT_STREAM_WINDOW = 16
_UNSET: Any = object()


class Client:
    """A connection to one AnnServer (or any node of a cluster).

    ``tls``: False for plain HTTP/2; True for TLS with the system's root certificates; PEM bytes of the root
    certificates to trust; or ready ``grpc.ChannelCredentials`` (mutual TLS). ``timeout`` is each call's deadline in
    seconds (None: none), overridable per call; retries happen within it. ``consistent`` is the default of the reads'
    ``consistent`` argument (read-your-writes on cluster collections).
    """

    def __init__(self, address: str, api_key: Optional[str] = None,
                 tls: Union[bool, bytes, grpc.ChannelCredentials] = False, *, timeout: Optional[float] = 30.0,
                 retry: RetryPolicy = RetryPolicy(), consistent: bool = False,
                 options: Sequence[tuple[str, Any]] = ()) -> None:
        channel_options = [("grpc.max_receive_message_length", -1), ("grpc.max_send_message_length", -1), *options]
        if tls is False:
            self._channel = grpc.insecure_channel(address, options=channel_options)
        else:
            credentials = (tls if isinstance(tls, grpc.ChannelCredentials)
                           else grpc.ssl_channel_credentials(root_certificates=None if tls is True else tls))
            self._channel = grpc.secure_channel(address, credentials, options=channel_options)
        self._metadata: tuple[tuple[str, str], ...] = (("authorization", f"Bearer {api_key}"),) if api_key else ()
        self.timeout = timeout
        self.retry = retry
        self.consistent = consistent
        self._collections = collections_pb2_grpc.CollectionServiceStub(self._channel)
        self._vectors = vectors_pb2_grpc.VectorServiceStub(self._channel)
        # The hot calls take requests already serialised (see _wire): no serializer on the way out.
        self._upsert_raw = self._channel.unary_unary(
            "/ann.v1.VectorService/Upsert", request_serializer=None,
            response_deserializer=vectors_pb2.UpsertResponse.FromString)
        self._search_raw = self._channel.unary_unary(
            "/ann.v1.VectorService/Search", request_serializer=None,
            response_deserializer=vectors_pb2.SearchResponse.FromString)
        self._search_batch_raw = self._channel.unary_unary(
            "/ann.v1.VectorService/SearchBatch", request_serializer=None,
            response_deserializer=vectors_pb2.SearchBatchResponse.FromString)
        self._search_stream_raw = self._channel.stream_stream(
            "/ann.v1.VectorService/SearchStream", request_serializer=None,
            response_deserializer=vectors_pb2.SearchStreamResponse.FromString)
        self._sequences: dict[str, dict[int, int]] = {}
        self._sequences_lock = threading.Lock()

    # ----------------------------------------------------------------------------------------------- lifetime

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # ----------------------------------------------------------------------------------------------- collections

    def create_collection(self, name: str, dimension: int, metric: Union[str, int] = "l2", *, m: int = 0,
                          ef_construction: int = 0, quantization: Union[str, int] = "none", shards: int = 0,
                          replicas: int = 0, timeout: Optional[float] = _UNSET) -> collections_pb2.CollectionInfo:
        """Creates an empty collection; ``metric`` is "l2", "ip" (inner product), "cosine" or an ann.v1.Metric."""
        request = collections_pb2.CreateCollectionRequest(
            name=name, dimension=dimension, metric=_enum(metric, METRICS, "metric"), m=m,
            ef_construction=ef_construction, quantization=_enum(quantization, QUANTIZATIONS, "quantization"),
            shards=shards, replicas=replicas)
        return self._call("CreateCollection", self._collections.CreateCollection, request, timeout).info

    def list_collections(self, *, timeout: Optional[float] = _UNSET) -> list[collections_pb2.CollectionInfo]:
        return list(self._call("ListCollections", self._collections.ListCollections,
                               collections_pb2.ListCollectionsRequest(), timeout).collections)

    def collection_info(self, name: str, *, timeout: Optional[float] = _UNSET) -> collections_pb2.CollectionInfo:
        return self._call("GetCollectionInfo", self._collections.GetCollectionInfo,
                          collections_pb2.GetCollectionInfoRequest(name=name), timeout)

    def drop_collection(self, name: str, *, timeout: Optional[float] = _UNSET) -> None:
        self._call("DropCollection", self._collections.DropCollection,
                   collections_pb2.DropCollectionRequest(name=name), timeout)
        with self._sequences_lock:
            self._sequences.pop(name, None)

    def checkpoint(self, name: str, *, timeout: Optional[float] = _UNSET) -> collections_pb2.CheckpointResponse:
        return self._call("Checkpoint", self._collections.Checkpoint, collections_pb2.CheckpointRequest(name=name), timeout)

    def load_snapshot(self, name: str, path: str, *, timeout: Optional[float] = None) -> collections_pb2.LoadSnapshotResponse:
        """Loads a snapshot file the server reads from its --import-dir (``path`` relative to it) as collection
        ``name``; answers once it serves. No deadline by default: a large snapshot takes a while."""
        return self._call("LoadSnapshot", self._collections.LoadSnapshot,
                          collections_pb2.LoadSnapshotRequest(name=name, path=path), timeout)

    def upload_snapshot(self, name: str, file: Union[str, os.PathLike[str], IO[bytes]], *,
                        chunk_bytes: int = UPLOAD_CHUNK_BYTES,
                        timeout: Optional[float] = None) -> collections_pb2.LoadSnapshotResponse:
        """Sends a snapshot file (a path, or a seekable binary file) to the server as collection ``name``, in chunks,
        with its size and SHA-256 (read once before sending); answers once it serves."""
        if chunk_bytes < 1:
            raise ValueError(f"chunk_bytes must be positive, got {chunk_bytes}")
        owned = isinstance(file, (str, os.PathLike))
        stream: IO[bytes] = open(file, "rb") if isinstance(file, (str, os.PathLike)) else file
        try:
            start = stream.tell()
            digest = hashlib.sha256()
            total = 0
            for block in iter(lambda: stream.read(chunk_bytes), b""):
                digest.update(block)
                total += len(block)
            header = collections_pb2.UploadSnapshotHeader(name=name, total_bytes=total, sha256=digest.digest())

            def messages() -> Iterator[collections_pb2.UploadSnapshotRequest]:
                stream.seek(start)
                yield collections_pb2.UploadSnapshotRequest(header=header)
                for block in iter(lambda: stream.read(chunk_bytes), b""):
                    yield collections_pb2.UploadSnapshotRequest(chunk=block)

            return self._call("UploadSnapshot", lambda _, **kw: self._collections.UploadSnapshot(messages(), **kw),
                              None, timeout)
        finally:
            if owned:
                stream.close()

    def create_alias(self, alias: str, collection: str, *, timeout: Optional[float] = _UNSET) -> None:
        self._call("CreateAlias", self._collections.CreateAlias,
                   collections_pb2.CreateAliasRequest(alias=alias, collection=collection), timeout)

    def switch_alias(self, alias: str, collection: str, *, expected: Optional[str] = None,
                     timeout: Optional[float] = _UNSET) -> str:
        """Points ``alias`` at ``collection``; with ``expected``, only if it names that collection now (AbortedError
        otherwise). Returns the collection it named before."""
        request = collections_pb2.SwitchAliasRequest(alias=alias, collection=collection, expected_collection=expected or "")
        return self._call("SwitchAlias", self._collections.SwitchAlias, request, timeout).previous_collection

    def delete_alias(self, alias: str, *, timeout: Optional[float] = _UNSET) -> None:
        self._call("DeleteAlias", self._collections.DeleteAlias, collections_pb2.DeleteAliasRequest(alias=alias), timeout)

    def list_aliases(self, *, timeout: Optional[float] = _UNSET) -> dict[str, str]:
        """Every alias and the collection it names."""
        response = self._call("ListAliases", self._collections.ListAliases, collections_pb2.ListAliasesRequest(), timeout)
        return {entry.alias: entry.collection for entry in response.aliases}

    # ----------------------------------------------------------------------------------------------- writes

    def upsert(self, collection: str, ids: npt.ArrayLike, vectors: npt.ArrayLike,
               payloads: Optional[Sequence[Optional[Mapping[str, Any]]]] = None, *, batch_size: int = 1000,
               timeout: Optional[float] = _UNSET) -> UpsertResult:
        """Inserts or replaces points: ``ids`` (n,) int64, ``vectors`` (n, dimension) float32 (other dtypes and
        layouts are converted once), ``payloads`` one dict (or None) per point. Sent in batches of ``batch_size``
        points, each one durable Upsert; a failure raises after the batches before it were applied."""
        id_array = _wire.as_ids(ids)
        matrix = _wire.as_matrix(vectors, "vectors")
        if matrix.shape[0] != id_array.shape[0]:
            raise ValueError(f"ids has {id_array.shape[0]} entries but vectors has {matrix.shape[0]} rows")
        if payloads is not None and len(payloads) != id_array.shape[0]:
            raise ValueError(f"payloads has {len(payloads)} entries but ids has {id_array.shape[0]}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        head = _wire.length_delimited(1, collection.encode())
        id_list = id_array.tolist()
        inserted = replaced = 0
        for first in range(0, len(id_list), batch_size):
            last = min(first + batch_size, len(id_list))
            parts = [head]
            for i in range(first, last):
                fields = payloads[i] if payloads is not None else None
                payload = b""
                if fields:
                    payload = vectors_pb2.Point(payload=_payload.payload_proto(fields, f"payloads[{i}]")).SerializeToString()
                parts.append(_wire.length_delimited(2, _wire.point_bytes(id_list[i], matrix[i], payload)))
            response = self._call("Upsert", self._upsert_raw, b"".join(parts), timeout)
            self._remember(collection, response.sequences)
            inserted += response.inserted
            replaced += response.replaced
        return UpsertResult(inserted, replaced)

    def delete(self, collection: str, ids: npt.ArrayLike, *, timeout: Optional[float] = _UNSET) -> DeleteResult:
        request = vectors_pb2.DeleteRequest(collection=collection, ids=_wire.as_ids(ids).tolist())
        response = self._call("Delete", self._vectors.Delete, request, timeout)
        self._remember(collection, response.sequences)
        return DeleteResult(response.deleted, response.not_found)

    def set_payload(self, collection: str, ids: npt.ArrayLike, payload: Mapping[str, Any], *, replace: bool = False,
                    timeout: Optional[float] = _UNSET) -> PayloadWriteResult:
        """Sets payload fields of existing points (merged into theirs; ``replace=True``: becomes exactly these)."""
        request = vectors_pb2.SetPayloadRequest(
            collection=collection, ids=_wire.as_ids(ids).tolist(), payload=_payload.payload_proto(payload, "payload"),
            mode=vectors_pb2.PAYLOAD_WRITE_MODE_REPLACE if replace else vectors_pb2.PAYLOAD_WRITE_MODE_MERGE)
        return self._payload_write("SetPayload", self._vectors.SetPayload, collection, request, timeout)

    def delete_payload(self, collection: str, ids: npt.ArrayLike, fields: Optional[Sequence[str]] = None, *,
                       timeout: Optional[float] = _UNSET) -> PayloadWriteResult:
        """Removes the named payload fields of points; every field when ``fields`` is None (ClearPayload)."""
        id_list = _wire.as_ids(ids).tolist()
        if fields is None:
            return self._payload_write("ClearPayload", self._vectors.ClearPayload, collection,
                                       vectors_pb2.ClearPayloadRequest(collection=collection, ids=id_list), timeout)
        if isinstance(fields, str):
            raise TypeError("fields takes a list of field names, not one string")
        return self._payload_write("DeletePayload", self._vectors.DeletePayload, collection,
                                   vectors_pb2.DeletePayloadRequest(collection=collection, ids=id_list, fields=list(fields)),
                                   timeout)

    # ----------------------------------------------------------------------------------------------- stored id sets

    def put_id_set(self, collection: str, name: str, ids: npt.ArrayLike, *, ttl_seconds: Optional[int] = None,
                   timeout: Optional[float] = _UNSET) -> IdSetInfo:
        """Stores ``ids`` as the set ``name`` of ``collection`` (replacing one of that name), for filters to name with
        ``InIdSet(name)``: ``Filter(must_not=[InIdSet("seen-42")])`` leaves them out. Expires after ``ttl_seconds``
        (None: when deleted or the server restarts). Not durable: a cache that a restart loses; put it again on
        NotFoundError."""
        request = id_sets_pb2.PutIdSetRequest(collection=collection, name=name, ids=_wire.as_ids(ids).tolist(),
                                              ttl_seconds=int(ttl_seconds or 0))
        return _id_set_info(self._call("PutIdSet", self._vectors.PutIdSet, request, timeout).set)

    def delete_id_set(self, collection: str, name: str, *, timeout: Optional[float] = _UNSET) -> bool:
        """Deletes the stored id set ``name``; False when there was none (or it had expired)."""
        request = id_sets_pb2.DeleteIdSetRequest(collection=collection, name=name)
        return self._call("DeleteIdSet", self._vectors.DeleteIdSet, request, timeout).deleted

    def list_id_sets(self, collection: str, *, timeout: Optional[float] = _UNSET) -> list[IdSetInfo]:
        """The collection's stored id sets, by name."""
        request = id_sets_pb2.ListIdSetsRequest(collection=collection)
        return [_id_set_info(s) for s in self._call("ListIdSets", self._vectors.ListIdSets, request, timeout).sets]

    # ----------------------------------------------------------------------------------------------- reads

    def search(self, collection: str, query: npt.ArrayLike, k: int = 10, *, ef: Optional[int] = None,
               filter: FilterArg = None, with_payload: PayloadArg = None, with_vector: bool = False,
               score_threshold: Optional[float] = None, allow_partial: bool = False,
               group_by: Optional[str] = None, group_size: int = 1, groups: int = 10,
               rescore: Optional[bool] = None, oversampling: Optional[float] = None,
               consistent: Optional[bool] = None, timeout: Optional[float] = _UNSET) -> Any:
        """The k nearest points to ``query`` (dimension,): ids (int64) and distances (float32), nearest first.

        With ``group_by`` (a keyword or int payload field), a :class:`GroupedResult` instead: at most ``groups`` groups
        of at most ``group_size`` hits sharing the field's value, grouped inside the search (``k`` is not used).

        On a quantized (int8, int4) collection: ``rescore=False`` skips the float32 re-rank (faster; the distances are
        then the codes' estimates), ``oversampling`` (1 to 100) re-ranks the nearest ceil(oversampling · k) results by
        their codes instead of the server's pool. None: the server's choice. A float32 collection ignores both."""
        vector = _wire.as_vector(query, "query")
        request = vectors_pb2.SearchRequest(
            collection=collection, k=k, ef=ef, filter=filter_proto(filter), allow_partial=allow_partial,
            with_payload=_wire.payload_selector(with_payload), with_vector=with_vector, score_threshold=score_threshold,
            group_by=_group_by(group_by, group_size, groups), quantization=_quantization(rescore, oversampling),
            min_sequences=self._min_sequences(collection, consistent))
        response = self._call("Search", self._search_raw,
                              request.SerializeToString() + _wire.packed_floats(2, vector), timeout)
        if group_by is not None:
            return _grouped(response.groups, [], with_payload, response.server_time_micros)
        hits = response.hits
        count = len(hits)
        return SearchResult(
            ids=np.fromiter((hit.id for hit in hits), dtype=np.int64, count=count),
            distances=np.fromiter((hit.distance for hit in hits), dtype=np.float32, count=count),
            payloads=[_payload.payload_python(hit.payload.fields) for hit in hits] if with_payload else None,
            vectors=(np.stack([_wire.floats_of(hit.vector.values, len(vector)) for hit in hits]) if count
                     else np.empty((0, len(vector)), np.float32)) if with_vector else None,
            server_time_micros=response.server_time_micros)

    def recommend(self, collection: str, positive: npt.ArrayLike = (), negative: npt.ArrayLike = (), k: int = 10, *,
                  positive_vectors: Optional[npt.ArrayLike] = None, negative_vectors: Optional[npt.ArrayLike] = None,
                  strategy: str = "average_vector", ef: Optional[int] = None, filter: FilterArg = None,
                  with_payload: PayloadArg = None, with_vector: bool = False, score_threshold: Optional[float] = None,
                  allow_partial: bool = False, group_by: Optional[str] = None, group_size: int = 1, groups: int = 10,
                  rescore: Optional[bool] = None, oversampling: Optional[float] = None,
                  consistent: Optional[bool] = None, timeout: Optional[float] = _UNSET) -> Any:
        """Points like the ``positive`` examples and unlike the ``negative`` ones: ids of points of the collection, and
        rows of ``positive_vectors`` / ``negative_vectors`` (n, dimension). ``strategy``: "average_vector" (one search
        for avg(positive) + (avg(positive) − avg(negative))) or "best_score" (each point scored by its nearest positive
        against its nearest negative). The examples are never hits; ids not held are in ``missing_ids``. A
        :class:`RecommendResult`, or with ``group_by`` a :class:`GroupedResult` (as in :meth:`search`). ``rescore`` and
        ``oversampling`` as in :meth:`search`, for "average_vector" ("best_score" scores with float32)."""
        strategies = {"average_vector": vectors_pb2.RECOMMEND_STRATEGY_AVERAGE_VECTOR,
                      "best_score": vectors_pb2.RECOMMEND_STRATEGY_BEST_SCORE}
        if strategy not in strategies:
            raise ValueError(f"strategy must be one of {sorted(strategies)}, got {strategy!r}")
        request = vectors_pb2.RecommendRequest(
            collection=collection, positive_ids=_wire.as_ids(positive, "positive").tolist(),
            negative_ids=_wire.as_ids(negative, "negative").tolist(),
            positive_vectors=_example_vectors(positive_vectors, "positive_vectors"),
            negative_vectors=_example_vectors(negative_vectors, "negative_vectors"),
            strategy=strategies[strategy], k=k, ef=ef, filter=filter_proto(filter), allow_partial=allow_partial,
            with_payload=_wire.payload_selector(with_payload), with_vector=with_vector, score_threshold=score_threshold,
            group_by=_group_by(group_by, group_size, groups), quantization=_quantization(rescore, oversampling),
            min_sequences=self._min_sequences(collection, consistent))
        response = self._call("Recommend", self._vectors.Recommend, request, timeout)
        if group_by is not None:
            return _grouped(response.groups, response.missing_ids, with_payload, response.server_time_micros)
        hits = response.hits
        count = len(hits)
        return RecommendResult(
            ids=np.fromiter((hit.id for hit in hits), dtype=np.int64, count=count),
            distances=np.fromiter((hit.distance for hit in hits), dtype=np.float32, count=count),
            payloads=[_payload.payload_python(hit.payload.fields) for hit in hits] if with_payload else None,
            vectors=np.array([list(hit.vector.values) for hit in hits], dtype=np.float32) if with_vector else None,
            missing_ids=np.array(response.missing_ids, dtype=np.int64),
            server_time_micros=response.server_time_micros)

    def search_batch(self, collection: str, queries: npt.ArrayLike, k: int = 10, *, ef: Optional[int] = None,
                     filter: FilterArg = None, with_payload: PayloadArg = None,
                     score_threshold: Optional[float] = None, allow_partial: bool = False,
                     rescore: Optional[bool] = None, oversampling: Optional[float] = None,
                     consistent: Optional[bool] = None, timeout: Optional[float] = _UNSET) -> BatchSearchResult:
        """The k nearest points to each row of ``queries`` (n, dimension) in one call (at most the server's
        --max-batch-queries rows), ``filter``, ``rescore`` and ``oversampling`` (as in :meth:`search`) applying to
        every query."""
        matrix = _wire.as_matrix(queries, "queries")
        request = vectors_pb2.SearchBatchRequest(
            collection=collection, k=k, ef=ef, allow_partial=allow_partial,
            with_payload=_wire.payload_selector(with_payload), score_threshold=score_threshold,
            quantization=_quantization(rescore, oversampling), min_sequences=self._min_sequences(collection, consistent))
        query_filter = filter_proto(filter)
        filter_bytes = _wire.length_delimited(2, query_filter.SerializeToString()) if query_filter is not None else b""
        parts = [request.SerializeToString()]
        for row in matrix:
            parts.append(_wire.length_delimited(2, _wire.packed_floats(1, row) + filter_bytes))
        response = self._call("SearchBatch", self._search_batch_raw, b"".join(parts), timeout)
        rows = len(response.results)
        ids = np.full((rows, max(k, 0)), -1, dtype=np.int64)
        distances = np.full((rows, max(k, 0)), np.inf, dtype=np.float32)
        counts = np.zeros(rows, dtype=np.int64)
        payloads: Optional[list[list[dict[str, Any]]]] = [] if with_payload else None
        for row, result in enumerate(response.results):
            hits = result.hits
            count = len(hits)
            counts[row] = count
            ids[row, :count] = np.fromiter((hit.id for hit in hits), dtype=np.int64, count=count)
            distances[row, :count] = np.fromiter((hit.distance for hit in hits), dtype=np.float32, count=count)
            if payloads is not None:
                payloads.append([_payload.payload_python(hit.payload.fields) for hit in hits])
        return BatchSearchResult(ids, distances, counts, payloads, response.server_time_micros)

    def search_stream(self, collection: str, queries: npt.ArrayLike, k: int = 10, *, ef: Optional[int] = None,
                      filter: FilterArg = None, with_payload: PayloadArg = None, window: int = DEFAULT_STREAM_WINDOW,
                      score_threshold: Optional[float] = None, allow_partial: bool = False,
                      rescore: Optional[bool] = None, oversampling: Optional[float] = None,
                      consistent: Optional[bool] = None, timeout: Optional[float] = None,
                      per_message: int = 1) -> BatchSearchResult:
        """The k nearest points to each row of ``queries`` (n, dimension), any number of rows, over one SearchStream
        call: bulk scoring. ``window`` searches are in flight at once (the server runs them side by side and holds at
        most its --max-stream-messages messages and --max-stream-in-flight searches of them); each is tagged with its
        row, so the result is in query order, as search_batch's. ``per_message`` rows go in each stream message (SearchStreamRequest.searches), answered
        together: the transport's cost per message is paid once for them (at most the server's --max-stream-in-flight;
        the window then counts messages of that many rows, at least one). The first search that fails cancels the rest
        and raises its error (its message names the row). No deadline by default (``timeout`` in seconds for one); a
        stream is not retried. ``server_time_micros`` is the sum over the searches. ``rescore`` and ``oversampling`` as
        in :meth:`search`, for every row."""
        matrix = _wire.as_matrix(queries, "queries")
        if window < 1:
            raise ValueError(f"window must be positive, got {window}")
        if per_message < 1:
            raise ValueError(f"per_message must be positive, got {per_message}")
        header = vectors_pb2.SearchRequest(
            collection=collection, k=k, ef=ef, filter=filter_proto(filter), allow_partial=allow_partial,
            with_payload=_wire.payload_selector(with_payload), score_threshold=score_threshold,
            quantization=_quantization(rescore, oversampling),
            min_sequences=self._min_sequences(collection, consistent)).SerializeToString()
        rows = matrix.shape[0]
        width = max(k, 0)
        ids = np.full((rows, width), -1, dtype=np.int64)
        distances = np.full((rows, width), np.inf, dtype=np.float32)
        counts = np.zeros(rows, dtype=np.int64)
        payloads: Optional[list[list[dict[str, Any]]]] = [[] for _ in range(rows)] if with_payload else None
        # A message's tag is its first row; a message of several rows carries them as `searches` (field 3).
        messages = (rows + per_message - 1) // per_message
        in_flight = max(1, window // per_message)
        places = threading.Semaphore(in_flight)
        stopped = threading.Event()

        def requests() -> Iterator[bytes]:
            # Runs on gRPC's thread: waits for a place so that at most `in_flight` messages are unanswered.
            for first in range(0, rows, per_message):
                places.acquire()
                if stopped.is_set():
                    return
                if per_message == 1:
                    yield b"\x08" + _wire.varint(first) + _wire.length_delimited(2, header + _wire.packed_floats(2, matrix[first]))
                else:
                    yield b"\x08" + _wire.varint(first) + b"".join(
                        _wire.length_delimited(3, header + _wire.packed_floats(2, matrix[row]))
                        for row in range(first, min(first + per_message, rows)))

        def keep(row: int, result: Any) -> int:
            hits = result.hits
            count = min(len(hits), width)
            counts[row] = count
            ids[row, :count] = np.fromiter((hit.id for hit in hits), dtype=np.int64, count=count)
            distances[row, :count] = np.fromiter((hit.distance for hit in hits), dtype=np.float32, count=count)
            if payloads is not None:
                payloads[row] = [_payload.payload_python(hit.payload.fields) for hit in hits]
            return result.server_time_micros

        call = self._search_stream_raw(requests(), timeout=timeout, metadata=self._metadata)
        server_micros = 0
        answered = 0
        try:
            for answer in call:
                first = answer.tag
                if answer.HasField("error"):
                    raise error_from_code(answer.error.code, f"queries[{first}]: {answer.error.message}", "SearchStream")
                if per_message == 1:
                    server_micros += keep(first, answer.result)
                for offset, outcome in enumerate(answer.results):
                    if outcome.HasField("error"):
                        raise error_from_code(outcome.error.code, f"queries[{first + offset}]: {outcome.error.message}",
                                              "SearchStream")
                    server_micros += keep(first + offset, outcome.result)
                answered += 1
                places.release()
        except grpc.RpcError as error:
            raise error_from_rpc(error, "SearchStream") from None
        finally:
            if answered < messages:
                stopped.set()
                for _ in range(in_flight):
                    places.release()
                call.cancel()
        return BatchSearchResult(ids, distances, counts, payloads, server_micros)

    def get(self, collection: str, ids: npt.ArrayLike, *, with_vector: bool = True, with_payload: PayloadArg = True,
            consistent: Optional[bool] = None, timeout: Optional[float] = _UNSET) -> Points:
        """Reads points by id, in the order asked; ids that do not exist are in ``missing_ids``."""
        request = vectors_pb2.GetRequest(collection=collection, ids=_wire.as_ids(ids).tolist(), with_vector=with_vector,
                                         with_payload=_wire.payload_selector(with_payload),
                                         min_sequences=self._min_sequences(collection, consistent))
        response = self._call("Get", self._vectors.Get, request, timeout)
        return _points(response.points, with_vector, np.fromiter(response.missing_ids, dtype=np.int64))

    def count(self, collection: str, filter: FilterArg = None, *, consistent: Optional[bool] = None,
              timeout: Optional[float] = _UNSET) -> int:
        """Points that pass ``filter`` (all of them without one); exact."""
        request = vectors_pb2.CountRequest(collection=collection, filter=filter_proto(filter),
                                           min_sequences=self._min_sequences(collection, consistent))
        return self._call("Count", self._vectors.Count, request, timeout).count

    def scroll(self, collection: str, filter: FilterArg = None, *, page_size: int = 1000, after_id: Optional[int] = None,
               with_vector: bool = False, with_payload: PayloadArg = True, consistent: Optional[bool] = None,
               timeout: Optional[float] = _UNSET) -> Iterator[Points]:
        """Pages through the points that pass ``filter`` in ascending id order, ``page_size`` points a page (the last
        may be shorter). Each page is one Scroll call, made when the iterator gets there; the cursor is an id, so
        writes meanwhile never repeat a point."""
        cursor = after_id
        while True:
            request = vectors_pb2.ScrollRequest(collection=collection, filter=filter_proto(filter), after_id=cursor,
                                                limit=page_size, with_vector=with_vector,
                                                with_payload=_wire.payload_selector(with_payload),
                                                min_sequences=self._min_sequences(collection, consistent))
            response = self._call("Scroll", self._vectors.Scroll, request, timeout)
            if len(response.points) or not response.HasField("next_after_id"):
                yield _points(response.points, with_vector, np.empty(0, dtype=np.int64))
            if not response.HasField("next_after_id"):
                return
            cursor = response.next_after_id

    # ----------------------------------------------------------------------------------------------- read-your-writes

    def sequences(self, collection: str) -> dict[int, int]:
        """The latest stream sequence per shard that this client's writes to ``collection`` were given (cluster
        collections; empty for a local one): what ``consistent=True`` sends as min_sequences."""
        with self._sequences_lock:
            return dict(self._sequences.get(collection, {}))

    def _remember(self, collection: str, sequences: Sequence[vectors_pb2.ShardSequence]) -> None:
        if not sequences:
            return
        with self._sequences_lock:
            known = self._sequences.setdefault(collection, {})
            for entry in sequences:
                if entry.sequence > known.get(entry.shard, 0):
                    known[entry.shard] = entry.sequence

    def _min_sequences(self, collection: str, consistent: Optional[bool]) -> list[vectors_pb2.ShardSequence]:
        if not (self.consistent if consistent is None else consistent):
            return []
        with self._sequences_lock:
            known = self._sequences.get(collection, {})
            return [vectors_pb2.ShardSequence(shard=shard, sequence=sequence) for shard, sequence in sorted(known.items())]

    # ----------------------------------------------------------------------------------------------- calls

    def _payload_write(self, method: str, stub: Callable[..., vectors_pb2.PayloadWriteResponse], collection: str,
                       request: Any, timeout: Optional[float]) -> PayloadWriteResult:
        response = self._call(method, stub, request, timeout)
        self._remember(collection, response.sequences)
        return PayloadWriteResult(response.updated, response.not_found)

    def _call(self, method: str, stub: Callable[..., T], request: Any, timeout: Optional[float]) -> T:
        """One call with the retry policy, all attempts within one deadline; a failure raises AnnServerError."""
        seconds = self.timeout if timeout is _UNSET else timeout
        deadline = None if seconds is None else time.monotonic() + seconds
        attempt = 0
        while True:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                return stub(request, timeout=remaining, metadata=self._metadata)
            except grpc.RpcError as error:
                attempt += 1
                failure: AnnServerError = error_from_rpc(error, method)
                pause = self.retry.backoff(attempt - 1)
                out_of_time = deadline is not None and time.monotonic() + pause >= deadline
                if failure.code not in self.retry.retry_on or attempt >= self.retry.max_attempts or out_of_time:
                    raise failure from None
                time.sleep(pause)


def _enum(value: Union[str, int], names: Mapping[str, int], what: str) -> Any:
    """An enum's number from its name here, or as given (typed Any: protobuf 3.21's stubs type enums as classes)."""
    if isinstance(value, str):
        try:
            return names[value.lower()]
        except KeyError:
            raise ValueError(f"{what} must be one of {', '.join(names)}, got '{value}'") from None
    return int(value)


def _points(points: Sequence[vectors_pb2.Point], with_vector: bool, missing_ids: np.ndarray) -> Points:
    count = len(points)
    vectors: Optional[np.ndarray] = None
    if with_vector:
        dimension = len(points[0].vector) if count else 0
        vectors = np.empty((count, dimension), dtype=np.float32)
        for row, point in enumerate(points):
            vectors[row] = _wire.floats_of(point.vector, dimension)
    return Points(
        ids=np.fromiter((point.id for point in points), dtype=np.int64, count=count),
        vectors=vectors,
        payloads=[_payload.payload_python(point.payload) for point in points],
        labels=[list(point.labels) for point in points],
        missing_ids=missing_ids)


def _group_by(field: Optional[str], group_size: int, groups: int) -> Optional[vectors_pb2.GroupBy]:
    return None if field is None else vectors_pb2.GroupBy(field=field, group_size=group_size, groups=groups)


def _quantization(rescore: Optional[bool], oversampling: Optional[float]) -> Optional[vectors_pb2.QuantizationParams]:
    """None (the server's choice, nothing sent) unless one of them is given; the server validates oversampling."""
    if rescore is None and oversampling is None:
        return None
    return vectors_pb2.QuantizationParams(rescore=rescore, oversampling=oversampling)


def _example_vectors(rows: Optional[npt.ArrayLike], what: str) -> list[vectors_pb2.ExampleVector]:
    if rows is None:
        return []
    matrix = _wire.as_matrix(rows, what)
    return [vectors_pb2.ExampleVector(values=row.tolist()) for row in matrix]


def _grouped(groups: Any, missing_ids: Any, with_payload: PayloadArg, server_time_micros: int) -> GroupedResult:
    return GroupedResult(
        groups=[Group(key=_payload.python_value(group.key),
                      ids=np.fromiter((hit.id for hit in group.hits), dtype=np.int64, count=len(group.hits)),
                      distances=np.fromiter((hit.distance for hit in group.hits), dtype=np.float32, count=len(group.hits)),
                      payloads=[_payload.payload_python(hit.payload.fields) for hit in group.hits] if with_payload else None)
                for group in groups],
        missing_ids=np.array(list(missing_ids), dtype=np.int64),
        server_time_micros=server_time_micros)
def _id_set_info(message: id_sets_pb2.IdSetInfo) -> IdSetInfo:
    return IdSetInfo(message.name, message.count, message.bytes,
                     message.expires_at_unix_ms / 1000.0 if message.expires_at_unix_ms else None)
