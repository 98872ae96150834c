#!/usr/bin/env python3
"""The Python client's costs on Fashion-MNIST (784-d, L2), against a running server:

1. packing: building an Upsert request of 784-d rows with ``point.vector.extend(row)`` against the client's raw
   packed bytes (no server involved);
2. upsert: points per second through ``Client.upsert`` (numpy in, batches of --batch-size);
3. per-search client overhead: the latency the caller sees minus the server's ``server_time_micros``, one query at a
   time (packing, gRPC, HTTP/2 and the answer's decoding into numpy);
4. search_batch throughput: queries per second in batches of --batch-queries, against single searches in a loop;
5. search_stream throughput (bulk scoring over one SearchStream, --stream-window in flight), against the same two.

    dotnet run -c Release --project src/AnnServer -- --port 50051 --data-dir /tmp/bench-data
    python3 clients/python/generate.py
    python3 clients/python/bench.py --address 127.0.0.1:50051

The images come from Debian's dataset-fashion-mnist (/usr/share/datasets/fashion-mnist) or any folder holding the
same IDX files (--data); --max-base keeps the upsert short (the figures of 3 and 4 hardly depend on it).
"""

from __future__ import annotations

import argparse
import gzip
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import generate  # noqa: E402

generate.generate()

import annserver  # noqa: E402
from annserver import _wire  # noqa: E402
from annserver._proto import vectors_pb2  # noqa: E402


def read_idx_images(path: Path) -> np.ndarray:
    raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    count, rows, columns = (int.from_bytes(raw[i:i + 4], "big") for i in (4, 8, 12))
    return np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(count, rows * columns).astype(np.float32)


def percentile(values: list[float], p: float) -> float:
    return float(np.percentile(np.asarray(values), p))


def bench_packing(vectors: np.ndarray) -> None:
    rows = vectors[:2000]
    ids = list(range(len(rows)))

    def with_extend() -> bytes:
        request = vectors_pb2.UpsertRequest(collection="c")
        for point_id, row in zip(ids, rows):
            point = request.points.add()
            point.id = point_id
            point.vector.extend(row)
        return request.SerializeToString()

    def with_tolist() -> bytes:
        request = vectors_pb2.UpsertRequest(collection="c")
        for point_id, row in zip(ids, rows.tolist()):
            point = request.points.add()
            point.id = point_id
            point.vector.extend(row)
        return request.SerializeToString()

    def with_raw_bytes() -> bytes:
        parts = [_wire.length_delimited(1, b"c")]
        for point_id in ids:
            parts.append(_wire.length_delimited(2, _wire.point_bytes(point_id, rows[point_id], b"")))
        return b"".join(parts)

    print(f"1. packing {len(rows)} points of {rows.shape[1]} dimensions into an Upsert request "
          f"(protobuf {api_implementation()} implementation), best of 3:")
    baseline = None
    for label, build in (("point.vector.extend(row)", with_extend), ("extend(row.tolist())", with_tolist),
                         ("raw packed bytes (the client)", with_raw_bytes)):
        best = min(timed(build) for _ in range(3))
        baseline = baseline or best
        print(f"   {label:32s} {best / len(rows) * 1e6:8.2f} us/point  ({baseline / best:.1f}x)")


def api_implementation() -> str:
    from google.protobuf.internal import api_implementation as implementation
    return implementation.Type()


def timed(action) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--address", default="127.0.0.1:50051")
    parser.add_argument("--data", type=Path, default=Path("/usr/share/datasets/fashion-mnist"))
    parser.add_argument("--collection", default="fmnist-client-bench")
    parser.add_argument("--max-base", type=int, default=20000)
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--ef", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=1000, help="points per Upsert")
    parser.add_argument("--batch-queries", type=int, default=256, help="queries per SearchBatch")
    parser.add_argument("--stream-window", type=int, default=annserver.client.DEFAULT_STREAM_WINDOW,
                        help="searches search_stream keeps in flight")
    arguments = parser.parse_args()

    base = read_idx_images(arguments.data / "train-images-idx3-ubyte.gz")[:arguments.max_base]
    queries = read_idx_images(arguments.data / "t10k-images-idx3-ubyte.gz")[:arguments.queries]
    bench_packing(base)

    with annserver.Client(arguments.address, timeout=600) as client:
        if arguments.collection in [info.name for info in client.list_collections()]:
            client.drop_collection(arguments.collection)
        client.create_collection(arguments.collection, dimension=base.shape[1], metric="l2")
        seconds = timed(lambda: client.upsert(arguments.collection, np.arange(len(base)), base,
                                              batch_size=arguments.batch_size))
        print(f"2. upsert: {len(base)} points of {base.shape[1]} dimensions in {seconds:.1f} s: "
              f"{len(base) / seconds:,.0f} points/s (the server's HNSW inserts included)")

        for query in queries[:50]:  # warm-up: the channel, the server's JIT
            client.search(arguments.collection, query, k=arguments.k, ef=arguments.ef)
        latencies, overheads = [], []
        start = time.perf_counter()
        for query in queries:
            begun = time.perf_counter()
            result = client.search(arguments.collection, query, k=arguments.k, ef=arguments.ef)
            latency = (time.perf_counter() - begun) * 1e6
            latencies.append(latency)
            overheads.append(latency - result.server_time_micros)
        single_qps = len(queries) / (time.perf_counter() - start)
        # The baseline: the generated stub as a user without this package would call it.
        import grpc
        from annserver._proto import vectors_pb2_grpc
        with grpc.insecure_channel(arguments.address) as channel:
            stub = vectors_pb2_grpc.VectorServiceStub(channel)
            plain_overheads = []
            for query in queries:
                begun = time.perf_counter()
                request = vectors_pb2.SearchRequest(collection=arguments.collection, k=arguments.k, ef=arguments.ef)
                request.query.extend(query)
                response = stub.Search(request, timeout=60)
                hit_ids = np.array([hit.id for hit in response.hits], dtype=np.int64)
                plain_overheads.append((time.perf_counter() - begun) * 1e6 - response.server_time_micros)
            del hit_ids
        print(f"3. search, one query at a time ({len(queries)} queries, k={arguments.k}, ef={arguments.ef}):")
        print(f"   latency  median {statistics.median(latencies):7.0f} us, p99 {percentile(latencies, 99):7.0f} us")
        print(f"   overhead median {statistics.median(overheads):7.0f} us, p99 {percentile(overheads, 99):7.0f} us "
              f"(latency - server_time_micros)")
        print(f"   baseline: the generated stub with query.extend(row): overhead median "
              f"{statistics.median(plain_overheads):7.0f} us, p99 {percentile(plain_overheads, 99):7.0f} us")
        print(f"   {single_qps:,.0f} queries/s through the client")

        batch_seconds = []
        for first in range(0, len(queries), arguments.batch_queries):
            batch = queries[first:first + arguments.batch_queries]
            batch_seconds.append(timed(lambda: client.search_batch(arguments.collection, batch, k=arguments.k,
                                                                   ef=arguments.ef)))
        batch_qps = len(queries) / sum(batch_seconds)
        print(f"4. search_batch, {arguments.batch_queries} queries a call: {batch_qps:,.0f} queries/s "
              f"({batch_qps / single_qps:.1f}x single searches)")

        stream_seconds = timed(lambda: client.search_stream(arguments.collection, queries, k=arguments.k,
                                                            ef=arguments.ef, window=arguments.stream_window))
        stream_qps = len(queries) / stream_seconds
        print(f"5. search_stream, {arguments.stream_window} in flight: {stream_qps:,.0f} queries/s "
              f"({stream_qps / single_qps:.1f}x single searches, {stream_qps / batch_qps:.2f}x search_batch)")
        client.drop_collection(arguments.collection)


if __name__ == "__main__":
    main()
