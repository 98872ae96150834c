"""Walk-level levers for fewer or cheaper distances, simulated on the graph hnswlib built (bench/run-distance-levers.sh).

Each lever changes what a level-0 walk reads, not how fast the machine reads it, so its effect is counted (distances,
expansions, bytes of rows read) rather than timed: the counts are exact and this shared machine's timings are not.
The walk is hnswlib's (greedy descent through the upper levels, then a beam of ef on level 0), on hnswlib's own graph
of the dataset (M 16, efConstruction 200), in numpy: slow, but every choice below is visible.

usage: walk_levers.py WORK_DIR [QUERIES]
  WORK_DIR holds base.fvecs, query.fvecs, gt.ivecs and hnswlib.bin, as bench/run-fashion-mnist.sh leaves them.
Prints markdown sections to standard output.
"""
import heapq
import struct
import sys

import numpy as np


def read_vecs(path, dtype):
    raw = np.fromfile(path, dtype=np.int32)
    dimension = raw[0]
    return raw.reshape(-1, dimension + 1)[:, 1:].copy().view(dtype)


class HnswlibGraph:
    """hnswlib's saved index (hnswalg.h saveIndex): header, level-0 block per element, then each element's upper lists."""

    def __init__(self, path, base):
        raw = open(path, "rb").read()
        _, max_elements, count, element_bytes, label_offset, _ = struct.unpack_from("<6Q", raw, 0)
        self.max_level, self.entry_point = struct.unpack_from("<2i", raw, 48)
        max_m, max_m0, _ = struct.unpack_from("<3Q", raw, 56)
        at = 56 + 24 + 8 + 8  # the three sizes, mult (double), ef_construction
        level0 = np.frombuffer(raw, dtype=np.uint8, count=max_elements * element_bytes, offset=at)
        level0 = level0.reshape(max_elements, element_bytes)[:count]
        self.links0 = level0[:, :4 + 4 * max_m0].copy().view(np.int32)
        labels = level0[:, label_offset:label_offset + 8].copy().view(np.int64)[:, 0]
        at += max_elements * element_bytes
        self.upper = {}
        for element in range(count):
            (size,) = struct.unpack_from("<I", raw, at)
            at += 4
            if size:
                self.upper[element] = np.frombuffer(raw, dtype=np.int32, count=size // 4, offset=at).reshape(-1, 1 + max_m)
                at += size
        self.labels = labels
        self.vectors = base[labels]  # in the graph's own numbering

    def neighbours0(self, node):
        row = self.links0[node]
        return row[1:1 + row[0]]

    def descend(self, query, counter):
        current = self.entry_point
        distance = float(((self.vectors[current] - query) ** 2).sum())
        counter[0] += 1
        for level in range(self.max_level, 0, -1):
            moved = True
            while moved:
                moved = False
                row = self.upper[current][level - 1]
                neighbours = row[1:1 + row[0]]
                distances = ((self.vectors[neighbours] - query) ** 2).sum(1)
                counter[0] += len(neighbours)
                best = int(np.argmin(distances))
                if distances[best] < distance:
                    distance, current, moved = float(distances[best]), neighbours[best], True
        return current


def beam(graph, query, ef, entries, on_distance=None):
    """Level-0 search (the paper's algorithm 2) from the given entries; returns the ids of the 10 nearest and the count
    of distances. on_distance(node, bound) sees each distance computed with the pool's bound at that moment (inf while
    the pool has fewer than ef)."""
    visited = set(entries)
    candidates, results = [], []
    count = 0
    for entry in entries:
        d = float(((graph.vectors[entry] - query) ** 2).sum())
        count += 1
        heapq.heappush(candidates, (d, entry))
        heapq.heappush(results, (-d, entry))
    while len(results) > ef:
        heapq.heappop(results)
    while candidates:
        d, node = heapq.heappop(candidates)
        if len(results) == ef and d > -results[0][0]:
            break
        fresh = [n for n in graph.neighbours0(node) if n not in visited]
        visited.update(fresh)
        if not fresh:
            continue
        distances = ((graph.vectors[fresh] - query) ** 2).sum(1)
        count += len(fresh)
        for dn, n in zip(distances, fresh):
            bound = -results[0][0] if len(results) == ef else np.inf
            if on_distance is not None:
                on_distance(n, bound)
            if len(results) < ef or dn < bound:
                heapq.heappush(candidates, (dn, n))
                heapq.heappush(results, (-dn, n))
                if len(results) > ef:
                    heapq.heappop(results)
    nearest = [graph.labels[n] for _, n in sorted(results, reverse=True)[:10]]
    return nearest, count


def recall(found, truth):
    return len(set(found) & set(truth)) / len(truth)


def pca_basis(vectors, seed):
    rng = np.random.default_rng(seed)
    sample = vectors[rng.choice(len(vectors), min(len(vectors), 10000), replace=False)]
    mean = sample.mean(0)
    eigenvalues, eigenvectors = np.linalg.eigh(np.cov((sample - mean).T))
    order = np.argsort(eigenvalues)[::-1]
    return mean, eigenvectors[:, order], eigenvalues[order]


def early_abandoning(graph, queries, ef):
    """How much of each row a walk would read if a distance stopped once its partial sum passed the pool's bound (such a
    neighbour is dropped anyway: exact), with the components in three orders: as stored, by variance, and rotated onto
    the principal axes (ADSampling-style, but exact since partial squared sums only grow). And a prefix filter: the
    first r principal components' distance, a lower bound of the whole, checked before the row is read."""
    log = []
    counter = [0]
    for qi, query in enumerate(queries):
        entry = graph.descend(query, counter)
        beam(graph, query, ef, [entry], lambda n, bound, qi=qi: log.append((qi, n, bound)))
    qis = np.array([q for q, _, _ in log])
    nodes = np.array([n for _, n, _ in log])
    bounds = np.array([b for _, _, b in log])
    dimension = graph.vectors.shape[1]
    mean, axes, eigenvalues = pca_basis(graph.vectors, 1)
    by_variance = np.argsort(graph.vectors.var(0))[::-1]
    orders = {
        "as stored": (graph.vectors[nodes], queries[qis]),
        "by variance": (graph.vectors[nodes][:, by_variance], queries[qis][:, by_variance]),
        "principal axes": ((graph.vectors[nodes] - mean) @ axes, (queries[qis] - mean) @ axes),
    }
    block = 16
    padded = -(-dimension // block) * block
    lines = [f"### Early abandoning at ef {ef}: {len(log) / len(queries):.0f} level-0 distances a query, "
             f"{np.mean(np.isfinite(bounds)):.2f} of them with a full pool", "",
             "| component order | share of row components read (blocks of 16) |", "|---|---:|"]
    squared_by_order = {}
    for name, (rows, query_rows) in orders.items():
        squared = np.zeros((len(rows), padded), np.float32)
        squared[:, :dimension] = (rows - query_rows) ** 2
        squared_by_order[name] = squared
        partial = np.cumsum(squared.reshape(len(rows), -1, block).sum(2), axis=1)
        past = partial >= bounds[:, None]
        blocks = np.where(past.any(1), np.argmax(past, 1) + 1, partial.shape[1])
        lines.append(f"| {name} | {blocks.mean() / partial.shape[1]:.3f} |")
    variance_share = np.cumsum(eigenvalues) / eigenvalues.sum()
    lines += ["", "| prefix filter: principal components r | variance they hold | distances it rejects | bytes read a distance (float32) |",
              "|---:|---:|---:|---:|"]
    for r in (16, 32, 64, 128, 192):
        prefix = squared_by_order["principal axes"][:, :r].sum(1)
        rejected = (prefix >= bounds).mean()
        lines.append(f"| {r} | {variance_share[r - 1]:.3f} | {rejected:.3f} | {4 * r + (1 - rejected) * 4 * dimension:.0f} "
                     f"(of {4 * dimension}) |")
    return lines


def entries(graph, queries, truth, efs):
    """The descent's distances against starting level 0 from the nearest of a few fixed nodes (a flat graph's entry)."""
    rng = np.random.default_rng(1)
    samples = {s: rng.choice(len(graph.vectors), s, replace=False) for s in (16, 64)}
    lines = ["### Entry: hnswlib's descent against the nearest of s fixed random nodes", "",
             "| ef | entry | recall@10 | distances a query (entry's included) |", "|---:|---|---:|---:|"]
    for ef in efs:
        for name in ("descent", 16, 64):
            total, hits = 0, 0.0
            for qi, query in enumerate(queries):
                counter = [0]
                if name == "descent":
                    start = graph.descend(query, counter)
                else:
                    pool = samples[name]
                    start = pool[int(np.argmin(((graph.vectors[pool] - query) ** 2).sum(1)))]
                    counter[0] = name
                found, count = beam(graph, query, ef, [start])
                total += counter[0] + count
                hits += recall(found, truth[qi])
            label = "descent" if name == "descent" else f"nearest of {name}"
            lines.append(f"| {ef} | {label} | {hits / len(queries):.4f} | {total / len(queries):.0f} |")
    return lines


def train_pq4(vectors, subspaces, seed):
    rng = np.random.default_rng(seed)
    sample = vectors[rng.choice(len(vectors), min(len(vectors), 20000), replace=False)]
    width = vectors.shape[1] // subspaces
    books = np.zeros((subspaces, 16, width), np.float32)
    codes = np.zeros((len(vectors), subspaces), np.uint8)
    for j in range(subspaces):
        part = sample[:, j * width:(j + 1) * width]
        centres = part[rng.choice(len(part), 16, replace=False)].copy()
        for _ in range(12):
            nearest = ((part[:, None, :] - centres[None]) ** 2).sum(2).argmin(1)
            for c in range(16):
                if (nearest == c).any():
                    centres[c] = part[nearest == c].mean(0)
        books[j] = centres
        codes[:, j] = ((vectors[:, None, j * width:(j + 1) * width] - centres[None]) ** 2).sum(2).argmin(1)
    return books, codes


def neighbour_codes(graph, queries, truth, efs, subspaces):
    """SymphonyQG / NGT-QG style: each node's block holds 4-bit PQ codes of its neighbours, so a walk orders its candidates
    by those estimates and reads a row only when it expands a node (the exact distance for the pool). Counts expansions:
    each is one block read (own row + the neighbours' codes) instead of one row per neighbour."""
    books, codes = train_pq4(graph.vectors, subspaces, 0)
    width = graph.vectors.shape[1] // subspaces
    code_bytes = subspaces // 2
    lines = [f"### Neighbour codes in the node's block: PQ, {subspaces} subspaces × 4 bits ({code_bytes} bytes a neighbour)", "",
             "| ef | recall@10 | expansions a query | estimates a query | bytes of blocks read a query (int8 own row + 32 codes) |",
             "|---:|---:|---:|---:|---:|"]
    own_row = graph.vectors.shape[1] + 24
    for ef in efs:
        total_expansions, total_estimates, hits = 0, 0, 0.0
        for qi, query in enumerate(queries):
            table = ((query.reshape(subspaces, 1, width) - books) ** 2).sum(2)
            start = graph.descend(query, [0])
            visited = {start}
            candidates, results = [(0.0, start)], []
            expansions = estimates = 0
            while candidates:
                estimate, node = heapq.heappop(candidates)
                if len(results) == ef and estimate > -results[0][0]:
                    break
                exact = float(((graph.vectors[node] - query) ** 2).sum())
                expansions += 1
                if len(results) < ef or exact < -results[0][0]:
                    heapq.heappush(results, (-exact, node))
                    if len(results) > ef:
                        heapq.heappop(results)
                fresh = [n for n in graph.neighbours0(node) if n not in visited]
                if not fresh:
                    continue
                visited.update(fresh)
                estimated = table[np.arange(subspaces)[None, :], codes[fresh]].sum(1)
                estimates += len(fresh)
                for e, n in zip(estimated, fresh):
                    if len(results) < ef or e < -results[0][0]:
                        heapq.heappush(candidates, (e, n))
            total_expansions += expansions
            total_estimates += estimates
            found = [graph.labels[n] for _, n in sorted(results, reverse=True)[:10]]
            hits += recall(found, truth[qi])
        n = len(queries)
        lines.append(f"| {ef} | {hits / n:.4f} | {total_expansions / n:.1f} | {total_estimates / n:.0f} | "
                     f"{total_expansions / n * (own_row + 32 * code_bytes):,.0f} |")
    return lines


def main():
    work = sys.argv[1]
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 300
    base = read_vecs(f"{work}/base.fvecs", np.float32)
    queries = read_vecs(f"{work}/query.fvecs", np.float32)[:count]
    truth = read_vecs(f"{work}/gt.ivecs", np.int32)[:count, :10]
    graph = HnswlibGraph(f"{work}/hnswlib.bin", base)
    # Today's walk, for reference: distances a query and recall, as the sections below count them.
    lines = ["### hnswlib's walk on its graph (the reference)", "", "| ef | recall@10 | distances a query |", "|---:|---:|---:|"]
    for ef in (10, 14, 20, 32, 48):
        total, hits = 0, 0.0
        for qi, query in enumerate(queries):
            counter = [0]
            start = graph.descend(query, counter)
            found, n = beam(graph, query, ef, [start])
            total += counter[0] + n
            hits += recall(found, truth[qi])
        lines.append(f"| {ef} | {hits / len(queries):.4f} | {total / len(queries):.0f} |")
    print("\n".join(lines), end="\n\n")
    print("\n".join(early_abandoning(graph, queries, 14)), end="\n\n")
    print("\n".join(entries(graph, queries, truth, (10, 14, 20))), end="\n\n")
    print("\n".join(neighbour_codes(graph, queries, truth, (14, 20, 24, 32, 48), base.shape[1] // 4)), end="\n\n")


if __name__ == "__main__":
    main()
