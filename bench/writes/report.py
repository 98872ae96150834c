#!/usr/bin/env python3
"""Renders bench/results/writes.{md,json} from the runs bench/run-writes.sh left in WORK_DIR/runs (one JSON of
`ann-bench load` and one .commits file per run). Medians over rounds when there are several."""
import json
import statistics
import sys
from pathlib import Path

work, out, points, baseline, head, load_before, load_after = sys.argv[1:8]
work, out, points = Path(work), Path(out), int(points)
GOALS = {  # (batch, writers): (points/s at least, p99 ms below or None)
    (100, 8): (25_000, 100.0),
    (1, 32): (8_000, None),
}


def read_run(path):
    load = json.loads(path.read_text())["rows"][0]["load"]
    percentiles = {p["percentile"]: p["latency_us"] / 1000 for p in load["percentiles"]}
    batch = load["batch_size"]
    run = {
        "points_per_second": load["items_per_second"],
        "p50_ms": percentiles.get(50),
        "p99_ms": percentiles.get(99),
        "max_ms": percentiles.get(100),
        "server_cpu_us_per_point": (load.get("server_cpu_us_per_call") or 0) / batch,
        "errors": load["errors"],
    }
    commits = path.with_suffix(".commits")
    if commits.exists():
        c0, s0, c1, s1 = (float(x) for x in commits.read_text().split())
        run["log_commits"] = c1 - c0
        run["mean_commit_ms"] = (s1 - s0) / (c1 - c0) * 1000 if c1 > c0 else None
    return run


runs = {}
for path in sorted((work / "runs").glob("r*-*.json")):
    _, system, collection, b, w = path.stem.split("-")
    runs.setdefault((system, collection, int(b[1:]), int(w[1:])), []).append(read_run(path))


def median(system, collection, batch, writers, field):
    values = [r[field] for r in runs.get((system, collection, batch, writers), []) if r.get(field) is not None]
    return statistics.median(values) if values else None


user, system_seconds, wall = (float(x) for x in (work / "build-cpu.txt").read_text().split()[-3:])
insert_us = (user + system_seconds) / points * 1e6
ceiling = 2 * 1e6 / insert_us

fmt = lambda v, spec=",.0f": "–" if v is None else format(v, spec)
lines = [
    "# Durable writes: Upsert throughput at dimension 128",
    "",
    f"Made by `bench/run-writes.sh` (this tree at {head}; baseline {baseline}, built in the same run). Strict durability "
    "(the default): a write is acknowledged once its log commit is on disk and it is applied to the graph. M 16, "
    "efConstruction 200, L2, generated clustered vectors (`ann-bench datasets clustered`, 1,000 clusters). "
    "`fresh`: a collection made empty when the server started (the warm-up's writes land in it before the measurement); "
    f"`prefill`: a snapshot of {points:,} points. Closed loop, each writer sends its next Upsert when the last is "
    "answered, new ids. Client and server share the machine's 2 cores.",
    "",
    f"Machine load before: `{load_before.strip()}`; after: `{load_after.strip()}`. On a shared machine absolute "
    "figures move with the neighbours; the ratio against the baseline, measured in turns in the same run, moves less.",
    "",
    "## The bound: the graph insert",
    "",
    f"`ann-build` inserting the {points:,} prefill points on 2 threads, no server: {insert_us:,.0f} µs of CPU per point "
    f"({user + system_seconds:,.1f} s CPU, {wall:,.1f} s wall). With nothing else to do, 2 cores insert at most "
    f"**{ceiling:,.0f} points/s** into a graph of this size; the server's CPU per point below is that plus the request "
    "(gRPC, protobuf, validation, the log record) and the commit.",
    "",
]
for collection in ("fresh", "prefill"):
    lines += [
        f"## {collection}",
        "",
        "| batch | writers | baseline points/s | points/s | ratio | p50 ms | p99 ms | max ms | server CPU µs/point (baseline) | server CPU µs/point | mean log commit ms |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for batch in (100, 1):
        for writers in (1, 8, 32):
            base = median("baseline", collection, batch, writers, "points_per_second")
            cur = median("current", collection, batch, writers, "points_per_second")
            ratio = cur / base if base and cur else None
            lines.append(
                f"| {batch} | {writers} | {fmt(base)} | {fmt(cur)} | {fmt(ratio, '.2f')}x "
                f"| {fmt(median('current', collection, batch, writers, 'p50_ms'), ',.1f')} "
                f"| {fmt(median('current', collection, batch, writers, 'p99_ms'), ',.1f')} "
                f"| {fmt(median('current', collection, batch, writers, 'max_ms'), ',.1f')} "
                f"| {fmt(median('baseline', collection, batch, writers, 'server_cpu_us_per_point'))} "
                f"| {fmt(median('current', collection, batch, writers, 'server_cpu_us_per_point'))} "
                f"| {fmt(median('current', collection, batch, writers, 'mean_commit_ms'), ',.1f')} |")
    lines.append("")

lines += ["## Against the goals", "", "| goal | collection | points/s | p99 ms | met |", "| --- | --- | ---: | ---: | --- |"]
for (batch, writers), (rate, p99_limit) in GOALS.items():
    goal = f"batch {batch} x {writers} writers: >= {rate:,} points/s" + (f", p99 < {p99_limit:.0f} ms" if p99_limit else "")
    for collection in ("fresh", "prefill"):
        cur = median("current", collection, batch, writers, "points_per_second")
        p99 = median("current", collection, batch, writers, "p99_ms")
        met = cur is not None and cur >= rate and (p99_limit is None or (p99 is not None and p99 < p99_limit))
        lines.append(f"| {goal} | {collection} | {fmt(cur)} | {fmt(p99, ',.1f')} | {'yes' if met else 'no'} |")
lines += [
    "",
    f"Batch 100 x 8 writers at 25,000 points/s leaves 2 cores / 25,000 = 80 µs of CPU per point for everything; the "
    f"graph insert alone costs {insert_us:,.0f} µs here. Why, and what would get past it: docs/writes.md.",
    "",
    "Reproduce: `bench/run-writes.sh` (`DURATION`, `WARMUP`, `ROUNDS`, `POINTS`, `BASELINE` in its header).",
    "",
]
out.with_suffix(".md").write_text("\n".join(lines))
out.with_suffix(".json").write_text(json.dumps({
    "head": head, "baseline": baseline, "points": points, "insert_cpu_us_per_point": insert_us,
    "insert_ceiling_points_per_second": ceiling, "load_before": load_before.strip(), "load_after": load_after.strip(),
    "runs": [{"system": s, "collection": c, "batch": b, "writers": w, "runs": r} for (s, c, b, w), r in sorted(runs.items())],
}, indent=1))
print(f"wrote {out.with_suffix('.md')} and {out.with_suffix('.json')}")
