#!/usr/bin/python3
"""Runs hnswlib and FAISS IndexHNSWFlat on the same TEXMEX files as `ann-bench recall`, with the same parameters,
and writes rows of the same JSON schema (bench/README.md), so every peer lands in one table and one plot
(`ann-bench merge`).

Uses Debian's python3-hnswlib, python3-faiss and python3-numpy; run it with /usr/bin/python3 so a pyenv or venv
interpreter that lacks them is not picked up.

    /usr/bin/python3 bench/peers/hnswlib.py --base base.fvecs --queries query.fvecs --ground-truth gt.ivecs \
        --k 10 --m 16 --ef-construction 200 --ef 10,20,40,80,160,320 --build-threads 2 --json peers.json

Measurement, kept identical to ann-bench wherever Python allows:
- build over --build-threads threads; search on ONE thread (hnswlib num_threads=1, faiss omp_set_num_threads(1));
- for each ef a warm-up pass over the first --warmup queries, then --runs timed passes, the best one kept;
- qps comes from one batch call over all queries (no Python overhead per query, so it is the library's own speed);
  p50/p99/mean come from one call per query, which adds the Python call overhead (a few microseconds) to each;
- recall@k is the tie-aware recall of ann-bench (RecallCalculator.cs): a returned id counts when its exact distance
  to the query, recomputed in float64, is at most the largest exact distance among the first k ground-truth ids.
"""

import argparse
import datetime
import json
import os
import platform
import sys
import tempfile
import time

# This file is called hnswlib.py, so Python would import it for `import hnswlib`: take its own folder off the path.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]

try:
    import numpy as np
except ImportError:
    sys.exit("numpy is missing: apt-get install python3-numpy (and run this script with /usr/bin/python3)")

# Relative slack when comparing float64 distances: far below the gap between two distinct distances of real data,
# far above the rounding of a 4096-term float64 sum.
RECALL_TOLERANCE = 1e-9


def read_vecs(path, dtype):
    """Reads a TEXMEX .fvecs/.ivecs file: each row is an int32 dimension then that many 4-byte components."""
    if not os.path.exists(path):
        sys.exit(f"{path}: no such file")
    raw = np.fromfile(path, dtype=np.int32)
    if raw.size == 0:
        sys.exit(f"{path}: the file is empty")
    dim = int(raw[0])
    if dim <= 0 or dim > 1 << 16 or raw.size % (dim + 1) != 0:
        sys.exit(f"{path}: row 0 declares dimension {dim}, which does not divide the file into whole rows")
    rows = raw.reshape(-1, dim + 1)
    if not np.all(rows[:, 0] == dim):
        sys.exit(f"{path}: rows have different dimensions; is this really a TEXMEX file?")
    return np.ascontiguousarray(rows[:, 1:]).view(dtype)


def exact_distances(metric, queries, base, ids):
    """Float64 distances from each query to the base rows ids[q, :] (ids < 0, meaning 'no result', give +inf)."""
    out = np.full(ids.shape, np.inf)
    for start in range(0, len(queries), 1000):
        q = queries[start:start + 1000].astype(np.float64)
        block = ids[start:start + 1000]
        safe = np.where(block < 0, 0, block)
        vectors = base[safe].astype(np.float64)  # (nq, k, d)
        if metric == "l2":
            d = ((vectors - q[:, None, :]) ** 2).sum(axis=2)
        else:  # ip and cosine (vectors normalised before): 1 - a.b, as the engines do
            d = 1.0 - (vectors * q[:, None, :]).sum(axis=2)
        out[start:start + 1000] = np.where(block < 0, np.inf, d)
    return out


def recall_at_k(metric, queries, base, ground_truth, returned, k):
    """Mean tie-aware recall@k; missing results (fewer than k, or -1) count as misses."""
    truth_k = min(k, ground_truth.shape[1])
    thresholds = exact_distances(metric, queries, base, ground_truth[:, :truth_k]).max(axis=1)
    distances = exact_distances(metric, queries, base, returned[:, :k].astype(np.int64))
    total = 0
    for q in range(len(queries)):
        seen = set()
        limit = thresholds[q] + abs(thresholds[q]) * RECALL_TOLERANCE
        for id_, d in zip(returned[q, :k], distances[q]):
            if id_ >= 0 and id_ not in seen and d <= limit:
                seen.add(int(id_))
        total += min(len(seen), truth_k)
    return total / (len(queries) * truth_k)


def percentile(sorted_values, p):
    """Nearest-rank percentile, as HdrHistogram reports it (the smallest value with at least p % at or below)."""
    rank = max(1, int(np.ceil(p / 100.0 * len(sorted_values))))
    return float(sorted_values[rank - 1])


def measure(search_batch, search_one, queries, k, warmup, runs):
    """Returns (ids of the best batch run, qps, latencies in microseconds)."""
    if warmup > 0:
        search_batch(queries[:warmup])
    best_seconds, ids = None, None
    for _ in range(runs):
        start = time.perf_counter()
        result = search_batch(queries)
        seconds = time.perf_counter() - start
        if best_seconds is None or seconds < best_seconds:
            best_seconds, ids = seconds, result
    latencies = np.empty(len(queries))
    for i in range(len(queries)):
        one = queries[i:i + 1]
        start = time.perf_counter_ns()
        search_one(one)
        latencies[i] = (time.perf_counter_ns() - start) / 1000.0
    return ids, len(queries) / best_seconds, latencies


def point(ef, recall, qps, latencies, distance_computations=None):
    ordered = np.sort(latencies)
    result = {
        "ef": ef,
        "recall": round(recall, 6),
        "qps": round(qps, 1),
        "mean_us": round(float(ordered.mean()), 2),
        "p50_us": round(percentile(ordered, 50), 2),
        "p99_us": round(percentile(ordered, 99), 2),
    }
    if distance_computations is not None:
        result["distance_computations"] = round(distance_computations, 1)
    return result


def file_size_of(save):
    """Bytes of the index serialised by save(path): the best memory figure these bindings expose."""
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "index.bin")
        save(path)
        return os.path.getsize(path)


def run_hnswlib(args, base, queries, ground_truth):
    try:
        import hnswlib
    except ImportError:
        sys.exit("hnswlib is missing: apt-get install python3-hnswlib (and run this script with /usr/bin/python3)")
    space = {"l2": "l2", "ip": "ip", "cosine": "ip"}[args.metric]
    index = hnswlib.Index(space=space, dim=base.shape[1])
    index.init_index(max_elements=len(base), ef_construction=args.ef_construction, M=args.m, random_seed=args.seed)
    start = time.perf_counter()
    index.add_items(base, np.arange(len(base)), num_threads=args.build_threads)
    build_seconds = time.perf_counter() - start
    print(f"hnswlib: built {len(base)} points in {build_seconds:.1f} s", file=sys.stderr)

    index.set_num_threads(1)
    points = []
    for ef in args.ef:
        index.set_ef(ef)
        ids, qps, latencies = measure(
            lambda q: index.knn_query(q, k=args.k, num_threads=1)[0],
            lambda q: index.knn_query(q, k=args.k, num_threads=1),
            queries, args.k, args.warmup, args.runs)
        recall = recall_at_k(args.metric, queries, base, ground_truth, ids.astype(np.int64), args.k)
        points.append(point(ef, recall, qps, latencies))
        print(f"hnswlib: ef={ef} recall={recall:.4f} qps={qps:.0f}", file=sys.stderr)
    return {
        "system": "hnswlib",
        "params": {"m": args.m, "ef_construction": args.ef_construction, "build_threads": args.build_threads,
                   "search_threads": 1, "warmup": args.warmup, "runs": args.runs, "version": package_version("hnswlib"),
                   "variant": "Debian Python build, SSE only",
                   "qps_from": "one batch call, 1 thread", "latency_from": "one call per query (includes Python overhead)"},
        "build_seconds": round(build_seconds, 3),
        "memory_bytes": file_size_of(index.save_index),
        "points": points,
    }


def run_faiss(args, base, queries, ground_truth):
    try:
        import faiss
    except ImportError:
        sys.exit("faiss is missing: apt-get install python3-faiss (and run this script with /usr/bin/python3)")
    metric = faiss.METRIC_L2 if args.metric == "l2" else faiss.METRIC_INNER_PRODUCT
    index = faiss.IndexHNSWFlat(base.shape[1], args.m, metric)
    index.hnsw.efConstruction = args.ef_construction
    faiss.omp_set_num_threads(args.build_threads)
    start = time.perf_counter()
    index.add(base)
    build_seconds = time.perf_counter() - start
    print(f"faiss: built {len(base)} points in {build_seconds:.1f} s", file=sys.stderr)

    faiss.omp_set_num_threads(1)
    points = []
    for ef in args.ef:
        index.hnsw.efSearch = ef
        # One counted pass for the distance computations, separate from the timed ones. FAISS 1.7.3 (Debian 12)
        # leaves hnsw_stats.ndis at 0 in this search path; then nothing is reported rather than a false 0.
        faiss.cvar.hnsw_stats.reset()
        index.search(queries, args.k)
        counted = faiss.cvar.hnsw_stats.ndis
        distance_computations = counted / len(queries) if counted > 0 else None
        ids, qps, latencies = measure(
            lambda q: index.search(q, args.k)[1],
            lambda q: index.search(q, args.k),
            queries, args.k, args.warmup, args.runs)
        recall = recall_at_k(args.metric, queries, base, ground_truth, ids.astype(np.int64), args.k)
        points.append(point(ef, recall, qps, latencies, distance_computations))
        print(f"faiss: ef={ef} recall={recall:.4f} qps={qps:.0f}", file=sys.stderr)
    return {
        "system": "faiss",
        "params": {"m": args.m, "ef_construction": args.ef_construction, "build_threads": args.build_threads,
                   "search_threads": 1, "warmup": args.warmup, "runs": args.runs, "index": "IndexHNSWFlat",
                   "version": faiss.__version__,
                   "variant": "Debian Python build, SSE only",
                   "qps_from": "one batch call, 1 thread", "latency_from": "one call per query (includes Python overhead)"},
        "build_seconds": round(build_seconds, 3),
        "memory_bytes": file_size_of(lambda path: faiss.write_index(index, path)),
        "points": points,
    }


def package_version(name):
    try:
        from importlib.metadata import version
        return version(name)
    except Exception:  # metadata missing in some distro builds: not worth failing over
        return "unknown"


def machine():
    cpu = platform.processor() or "unknown"
    try:  # the model name with family and model: a hypervisor may give every AMD host the same name ("AMD EPYC")
        fields = {}
        with open("/proc/cpuinfo") as f:
            for line in f:
                if not line.strip():
                    break
                key, _, value = line.partition(":")
                fields.setdefault(key.strip(), value.strip())
        if "model name" in fields:
            cpu = fields["model name"]
            if "cpu family" in fields:
                cpu += f" (family {fields['cpu family']}, model {fields.get('model', '?')})"
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "os": platform.platform(),
            "runtime": f"Python {platform.python_version()}, numpy {np.__version__}"}


def positive_int_list(text):
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a comma-separated list of integers")
    if not values or any(v <= 0 for v in values):
        raise argparse.ArgumentTypeError(f"'{text}' must list positive integers, e.g. 10,20,40")
    return values


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", required=True, help="base vectors (.fvecs)")
    parser.add_argument("--queries", required=True, help="query vectors (.fvecs)")
    parser.add_argument("--ground-truth", required=True, help="exact neighbour ids (.ivecs)")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--m", type=int, default=16)
    parser.add_argument("--ef-construction", type=int, default=200)
    parser.add_argument("--ef", type=positive_int_list, default=[10, 20, 40, 80, 160, 320])
    parser.add_argument("--build-threads", type=int, default=os.cpu_count())
    parser.add_argument("--metric", choices=["l2", "ip", "cosine"], default="l2")
    parser.add_argument("--systems", default="hnswlib,faiss", help="comma-separated: hnswlib, faiss")
    parser.add_argument("--warmup", type=int, default=1000, help="queries searched before timing each ef")
    parser.add_argument("--runs", type=int, default=1, help="timed passes per ef; the fastest is kept")
    parser.add_argument("--seed", type=int, default=100, help="hnswlib level-generator seed")
    parser.add_argument("--dataset", default=None, help="dataset name in the JSON (default: the base file's folder)")
    parser.add_argument("--json", required=True, help="output file")
    args = parser.parse_args()

    systems = [s.strip() for s in args.systems.split(",") if s.strip()]
    unknown = [s for s in systems if s not in ("hnswlib", "faiss")]
    if unknown:
        parser.error(f"unknown system(s) {', '.join(unknown)}; choose from hnswlib, faiss")
    if args.k <= 0 or args.m < 2 or args.ef_construction <= 0 or args.build_threads <= 0 or args.runs <= 0:
        parser.error("--k, --ef-construction, --build-threads and --runs must be positive, and --m at least 2")

    base = read_vecs(args.base, np.float32)
    queries = read_vecs(args.queries, np.float32)
    ground_truth = read_vecs(args.ground_truth, np.int32).astype(np.int64)
    if base.shape[1] != queries.shape[1]:
        sys.exit(f"{args.queries}: dimension {queries.shape[1]} differs from the base vectors' {base.shape[1]}")
    if len(ground_truth) != len(queries):
        sys.exit(f"{args.ground_truth}: {len(ground_truth)} rows for {len(queries)} queries")
    if ground_truth.shape[1] < min(args.k, len(base)):
        sys.exit(f"{args.ground_truth}: {ground_truth.shape[1]} neighbours per query, fewer than k={args.k}")
    if ground_truth.max() >= len(base) or ground_truth.min() < 0:
        sys.exit(f"{args.ground_truth}: ids outside 0..{len(base) - 1}; was it made for these base vectors?")
    if args.metric == "cosine":
        base = base / np.maximum(np.linalg.norm(base, axis=1, keepdims=True), 1e-30)
        queries = queries / np.maximum(np.linalg.norm(queries, axis=1, keepdims=True), 1e-30)
    base = np.ascontiguousarray(base, dtype=np.float32)
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    args.warmup = min(args.warmup, len(queries))

    rows = []
    for system in systems:
        run = run_hnswlib if system == "hnswlib" else run_faiss
        rows.append(run(args, base, queries, ground_truth))

    report = {
        "dataset": args.dataset or os.path.basename(os.path.dirname(os.path.abspath(args.base))),
        "k": args.k,
        "metric": args.metric,
        "base_count": len(base),
        "query_count": len(queries),
        "created_utc": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "command": " ".join([sys.executable] + sys.argv),
        "machine": machine(),
        "rows": rows,
    }
    with open(args.json, "w") as f:
        json.dump(report, f, indent=2)
        f.write("\n")
    print(f"wrote {args.json}", file=sys.stderr)


if __name__ == "__main__":
    main()
