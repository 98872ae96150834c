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
    print("\n".join(out))


if __name__ == "__main__":
    main()
