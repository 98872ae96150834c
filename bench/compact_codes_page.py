#!/usr/bin/env python3
"""Writes bench/results/compact-codes.md (to stdout) from the merged reports of bench/run-compact-codes.sh: per dataset,
bytes per point (hot codes, links, resident after load) and single-thread QPS at recall targets, against float32,
int8 and hnswlib."""
import argparse
import json

TARGETS = (0.90, 0.95, 0.99)


def first_reaching(points, target):
    for p in sorted(points, key=lambda p: p["ef"]):
        if p.get("recall") is not None and p["recall"] >= target:
            return p
    return None


def short_name(system):
    return system.split(" (")[0]


def dataset_section(path):
    report = json.load(open(path))
    rows = {short_name(r["system"]): r for r in report["rows"]}
    base = report["base_count"]
    lines = [f"## {report['dataset']}: {base:,} points, {report['query_count']:,} queries, k {report['k']}, {report['metric']}", ""]
    float32 = rows.get("annserver")
    f32_hot = float32["params"].get("hot_bytes_per_point") if float32 else None
    f32_res = float32.get("resident_bytes") if float32 else None
    lines += ["### Bytes per point", "",
              "| system | hot (read per visited point) | × float32 | links | resident growth of the load | × float32 |",
              "|---|---:|---:|---:|---:|---:|"]
    for name, r in rows.items():
        p = r["params"]
        hot = p.get("hot_bytes_per_point")
        links = p.get("link_bytes_per_point")
        res = r.get("resident_bytes")
        hot_text = f"{hot}" if hot is not None else "-"
        ratio = f"{hot / f32_hot:.3f}×" if hot is not None and f32_hot else "-"
        res_text = f"{res / base:.0f}" if res else "-"
        res_ratio = f"{res / f32_res:.2f}×" if res and f32_res else "-"
        lines.append(f"| {name} | {hot_text} | {ratio} | {links if links is not None else '-'} | {res_text} | {res_ratio} |")
    lines.append("")
    lines += ["### Single-thread QPS at the smallest ef reaching a recall@10 target", "",
              "| system | " + " | ".join(f"≥ {t:.2f}: ef | recall | QPS | × float32 | × int8 | × hnswlib" for t in TARGETS) + " |",
              "|---|" + "---:|" * (6 * len(TARGETS))]
    reached = {name: {t: first_reaching(r["points"], t) for t in TARGETS} for name, r in rows.items()}

    def ratio(name, other, t):
        a, b = reached[name][t], reached.get(other, {}).get(t)
        return f"{a['qps'] / b['qps']:.2f}" if a and b else "-"

    for name in rows:
        cells = []
        for t in TARGETS:
            p = reached[name][t]
            if p is None:
                cells += ["not reached"] + ["-"] * 5
            else:
                cells += [str(p["ef"]), f"{p['recall']:.4f}", f"{p['qps']:.0f}", ratio(name, "annserver", t),
                          ratio(name, "annserver-int8", t), ratio(name, "hnswlib", t)]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines.append("")
    return lines


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("reports", nargs="+")
    parser.add_argument("--command", required=True)
    parser.add_argument("--load-before", default="")
    parser.add_argument("--load-after", default="")
    parser.add_argument("--flat-scan", help="the table bench/compact_codes_flat_scan.py printed")
    a = parser.parse_args()
    first = json.load(open(a.reports[0]))
    out = [
        "# Compact codes: int4 (4-bit codes, float32 re-rank) against float32, int8 and hnswlib",
        "",
        "Made by one command (rounds paired with hnswlib compiled -march=native, the fastest timed pass per ef kept;",
        "plots and every point: compact-codes.png / compact-codes-1m.md, compact-codes-fashion-mnist.{png,md}):",
        "",
        "```",
        a.command,
        "```",
        "",
        f"Measured {first.get('created_utc', '?')} on {first['machine']['cpu']}, {first['machine']['cores']} cores, "
        f"{first['machine']['runtime']}. Load average before: `{a.load_before.strip()}`; after: `{a.load_after.strip()}`.",
        "",
        "Our three rows come from one float32 snapshot per dataset, loaded three times (int8 and int4 codes computed at "
        "load from the vectors: the same links, as every mode links on float32), each with its float32 vectors left in "
        "the snapshot's file mapping (`--map-vectors`, the server's `--map-snapshots`). **hot** is what the walk reads "
        "per visited point: the code row (int4: low, step, L2 correction and d/2 bytes of codes; int8: scale, norm and d "
        "bytes, rounded to 64) or the float32 row; **links** are the level-0 row plus the upper levels' lists per point, "
        "alike in every mode; **resident** is the process's resident growth across the load (docs in "
        "bench/results/catalogue.md): for float32 it includes the vectors' pages, for int8 and int4 the load releases "
        "them, and a search faults in only its ef re-rank candidates' vectors (page cache, shared and reclaimable).",
        "",
    ]
    for path in a.reports:
        out += dataset_section(path)
    out += [
        "## Why 4 bits and not 1",
        "",
        "The codes steer the graph walk, and the walk keeps the ef best estimates it has seen: the pool the float32 re-rank",
        "draws from. A code whose estimates misorder near neighbours needs a larger ef, which costs visits (distances",
        "and link lists) as well as re-ranks from the vectors' file. The best case for any code is a flat scan, where every",
        "point's estimate is computed and the top N re-ranked; `bench/compact_codes_flat_scan.py` measures it on the 1M",
        "set for RaBitQ's 1-bit code (random rotation, sign bits, its unbiased estimator, float query) and for int4:",
        "",
    ]
    if a.flat_scan:
        out += [line.rstrip() for line in open(a.flat_scan)] + [""]
    out += [
        "A 1-bit code is 24 bytes per point at 128-d (0.047× float32), but needs a pool several times larger than int4's for",
        "the same recall even in a flat scan; in the graph that pool is ef. Not built here: it needs a stored rotation",
        "(a snapshot section), a popcount kernel over 4-bit query planes, and a separate, larger re-rank pool; the",
        "table says what it would have to beat.",
        "",
        "Kernels: int4 distances run on AVX-512BW (vpmaddubsw + vpmaddwd on 64 bytes of codes = 128 components), else",
        "AVX-VNNI's vpdpbusd at 256 bits, else AVX2, else scalar. .NET 10's public intrinsics have no 512-bit vpdpbusd",
        "(AvxVnni is the 128/256-bit VEX form, and reports false on this AMD EPYC, which has AVX512-VNNI), so AVX-512",
        "machines use the AVX-512BW pair. Every path is tested against the scalar sum (tests/AnnServer.Core.Tests,",
        "Int4QuantizationTests, and again with narrower instruction sets in KernelEnvironmentTests).",
    ]
    print("\n".join(out))


if __name__ == "__main__":
    main()
