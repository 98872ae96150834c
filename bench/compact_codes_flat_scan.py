#!/usr/bin/env python3
"""How large a re-rank a code needs in the best case, a flat scan (every point's estimate, no graph walk): recall@10
after re-ranking the top N by estimated distance with exact float32 distances. Compares a 1-bit code (RaBitQ, SIGMOD
2024: random orthogonal rotation, sign bits, the unbiased estimator <x_b, q'> / <x_b, o>, centroid = the data's mean,
float query) with this repository's int4 code (Hnsw/Int4Codes.cs: range per vector, L2 correction, float query).
A graph walk on the codes can only do worse than the flat scan at the same pool size.

usage: /usr/bin/python3 bench/compact_codes_flat_scan.py BASE.fvecs QUERY.fvecs [POINTS] [QUERIES]
"""
import sys
import numpy as np

POOLS = (10, 20, 50, 100, 200, 400)


def read_fvecs(path, count):
    with open(path, "rb") as f:
        d = int(np.frombuffer(f.read(4), dtype=np.int32)[0])
    return np.fromfile(path, dtype=np.float32, count=(d + 1) * count).reshape(-1, d + 1)[:, 1:].copy()


def main():
    base_path, query_path = sys.argv[1], sys.argv[2]
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 1_000_000
    queries = int(sys.argv[4]) if len(sys.argv) > 4 else 200
    raw = read_fvecs(base_path, n)
    q = read_fvecs(query_path, queries)
    n, d = raw.shape
    sq = (raw * raw).sum(1)

    rotation, _ = np.linalg.qr(np.random.default_rng(1).standard_normal((d, d)))
    rotation = rotation.astype(np.float32)
    centre = raw.mean(0)
    residual_norm = np.linalg.norm(raw - centre, axis=1)
    signs = np.empty((n, d), dtype=np.float32)
    step = 100_000
    x_dot_o = np.empty(n, dtype=np.float32)
    for s in range(0, n, step):
        o = ((raw[s:s + step] - centre) / residual_norm[s:s + step, None]) @ rotation
        b = np.where(o >= 0, 1.0, -1.0).astype(np.float32) / np.sqrt(d)
        signs[s:s + step] = b
        x_dot_o[s:s + step] = (b * o).sum(1)

    low = raw.min(1)
    width = (raw.max(1) - low) / 15
    codes = np.clip(np.round((raw - low[:, None]) / width[:, None]), 0, 15)
    approx = (low[:, None] + width[:, None] * codes).astype(np.float32)
    del codes
    correction = (approx * approx).sum(1) - ((approx - raw) ** 2).sum(1)

    hits = {("1-bit", p): 0 for p in POOLS} | {("int4", p): 0 for p in POOLS}
    for i in range(q.shape[0]):
        query = q[i]
        exact = sq - 2 * raw @ query + query @ query
        truth = set(np.argpartition(exact, 10)[:10].tolist())
        r = query - centre
        rn = np.linalg.norm(r)
        rotated = (r / rn) @ rotation
        estimates = {
            "1-bit": residual_norm ** 2 + rn ** 2 - 2 * residual_norm * rn * (signs @ rotated) / x_dot_o,
            "int4": query @ query + correction - 2 * approx @ query,
        }
        for code, estimate in estimates.items():
            order = np.argpartition(estimate, max(POOLS))[:max(POOLS)]
            order = order[np.argsort(estimate[order])]
            for pool in POOLS:
                candidates = order[:pool]
                top = candidates[np.argsort(exact[candidates])[:10]]
                hits[(code, pool)] += len(truth & set(top.tolist()))
    print(f"flat scan over {n:,} × {d} points, {q.shape[0]} queries: recall@10 after an exact re-rank of the top N by estimate")
    print("| code | hot bytes/point | " + " | ".join(f"N = {p}" for p in POOLS) + " |")
    print("|---|---:|" + "---:|" * len(POOLS))
    print(f"| 1-bit (RaBitQ) | {d // 8 + 8} | " + " | ".join(f"{hits[('1-bit', p)] / (10 * q.shape[0]):.4f}" for p in POOLS) + " |")
    print(f"| int4 | {12 + (d + 127) // 128 * 64} | " + " | ".join(f"{hits[('int4', p)] / (10 * q.shape[0]):.4f}" for p in POOLS) + " |")


if __name__ == "__main__":
    main()
