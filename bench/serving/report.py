#!/usr/bin/env python3
"""Turns the runs of bench/serving/run.sh (one ann-bench JSON per run: r<round>-<system>-<kind>.json) into
bench/results/serving.md and .json. Each figure is the median over rounds; ratios are taken within a round first."""
import argparse, glob, json, os, re, statistics

p = argparse.ArgumentParser()
p.add_argument("--runs", required=True)
p.add_argument("--baseline", required=True)
p.add_argument("--streaming", default="no")
p.add_argument("--load-before", default="")
p.add_argument("--load-after", default="")
p.add_argument("--command", default="")
p.add_argument("--note")
p.add_argument("--json", required=True)
p.add_argument("--markdown", required=True)
a = p.parse_args()

runs = {}  # (round, system, kind) -> dict of figures
machine = None
for path in sorted(glob.glob(os.path.join(a.runs, "r*-*.json"))):
    m = re.match(r"r(\d+)-(inprocess|stub|baseline|current|variant-[^-]+)-(.+)\.json$", os.path.basename(path))
    if not m:
        continue
    d = json.load(open(path))
    machine = machine or d.get("machine")
    row = d["rows"][0]
    pt = row["points"][0]
    load = row.get("load") or {}
    pct = {x["percentile"]: x["latency_us"] for x in load.get("percentiles", [])}
    runs[(int(m[1]), m[2], m[3])] = {
        "qps": pt.get("qps"), "recall": pt.get("recall"), "p50_us": pt.get("p50_us"), "p99_us": pt.get("p99_us"),
        "p999_us": pct.get(99.9, pt.get("p999_us")), "items_per_s": load.get("items_per_second") or pt.get("qps"),
        "server_time_p50_us": load.get("server_time_p50_us"), "server_time_p99_us": load.get("server_time_p99_us"),
        "server_cpu_us_per_call": load.get("server_cpu_us_per_call"), "client_cpu_us_per_call": load.get("client_cpu_us_per_call"),
        "batch": load.get("batch_size", 1), "errors": load.get("errors") or {},
    }
rounds = sorted({r for r, _, _ in runs})

def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None

def fig(system, kind, key):
    return med([runs[(r, system, kind)][key] for r in rounds if (r, system, kind) in runs])

def ratio(sys_a, kind_a, sys_b, kind_b, key):
    """Median over rounds of a/b, both from the same round."""
    values = []
    for r in rounds:
        x, y = runs.get((r, sys_a, kind_a)), runs.get((r, sys_b, kind_b))
        if x and y and x[key] and y[key]:
            values.append(x[key] / y[key])
    return med(values)

def f(v, fmt="{:,.0f}"):
    return "–" if v is None else fmt.format(v)

systems = [("stub", "stub server (the floor)"), ("baseline", f"baseline ({a.baseline})"), ("current", "this tree")]
md = ["# Serving: from the engine to unary gRPC", ""]
md += [f"Fashion-MNIST (60,000 × 784, L2), snapshot M 16, efConstruction 200; k 10, ef 14. Made by `{a.command.strip()}`; "
       f"{len(rounds)} round(s), each figure the median over rounds. Client and server share the machine's 2 cores, so "
       "QPS counts the client's work too; CPU per call is read from /proc/PID/stat (user + system, all threads) over the "
       "measured time, for the server and for the client. Machine: "
       + (f"{machine.get('cpu', '?')}, {machine.get('cores', '?')} cores" if machine else "?")
       + f"; load average before: `{a.load_before.strip()}`, after: `{a.load_after.strip()}`.", ""]
if a.note:
    md += [a.note, ""]

md += ["## In-process (the engine, no transport)", "", "| threads | QPS | p50 µs | p99 µs | recall@10 |", "|---:|---:|---:|---:|---:|"]
for t in (1, 2):
    k = f"t{t}"
    md.append(f"| {t} | {f(fig('inprocess', k, 'qps'))} | {f(fig('inprocess', k, 'p50_us'), '{:.1f}')} | "
              f"{f(fig('inprocess', k, 'p99_us'), '{:.1f}')} | {f(fig('inprocess', k, 'recall'), '{:.4f}')} |")
md.append("")

md += ["## Unary Search, closed loop", "",
       "QPS / in-process: against the 2-thread in-process QPS of the same round (1-thread for 1 caller). In-server / "
       "in-process: the server's own time per search (server_time_micros, p50) over the in-process 1-thread p50. Server CPU "
       "above stub: this system's server CPU per call minus the stub's at the same callers, same round; layers: that minus "
       "the search itself (the in-process 1-thread p50: one search's time on one thread, which a loaded machine's "
       "preemptions inflate less than 1 / QPS), i.e. what AnnServer's own code costs per call beyond the bare "
       "gRPC stack and the engine.", "",
       "| server | callers | QPS | / in-process | p50 µs | p99 µs | p99.9 µs | in-server p50 µs | in-server / in-process | server CPU µs/call | above stub | layers µs/call | client CPU µs/call | recall@10 | errors |",
       "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
for system, label in systems:
    for c in (1, 2, 8, 32):
        k = f"search-c{c}"
        if not fig(system, k, "qps"):
            continue
        rel = ratio(system, k, "inprocess", "t1" if c == 1 else "t2", "qps")
        above = med([runs[(r, system, k)]["server_cpu_us_per_call"] - runs[(r, "stub", k)]["server_cpu_us_per_call"]
                     for r in rounds if (r, system, k) in runs and (r, "stub", k) in runs
                     and runs[(r, system, k)]["server_cpu_us_per_call"] is not None and runs[(r, "stub", k)]["server_cpu_us_per_call"] is not None])
        layers = med([runs[(r, system, k)]["server_cpu_us_per_call"] - runs[(r, "stub", k)]["server_cpu_us_per_call"]
                      - runs[(r, "inprocess", "t1")]["p50_us"]
                      for r in rounds if (r, system, k) in runs and (r, "stub", k) in runs and (r, "inprocess", "t1") in runs
                      and runs[(r, system, k)]["server_cpu_us_per_call"] is not None and runs[(r, "stub", k)]["server_cpu_us_per_call"] is not None])
        in_server = med([runs[(r, system, k)]["server_time_p50_us"] / runs[(r, "inprocess", "t1")]["p50_us"]
                         for r in rounds if (r, system, k) in runs and (r, "inprocess", "t1") in runs
                         and runs[(r, system, k)]["server_time_p50_us"] and runs[(r, "inprocess", "t1")]["p50_us"]])
        errs = {e for r in rounds if (r, system, k) in runs for e in runs[(r, system, k)]["errors"]}
        md.append(f"| {label} | {c} | {f(fig(system, k, 'qps'))} | {f(rel, '{:.2f}')} | {f(fig(system, k, 'p50_us'))} | "
                  f"{f(fig(system, k, 'p99_us'))} | {f(fig(system, k, 'p999_us'))} | {f(fig(system, k, 'server_time_p50_us'))} | "
                  f"{f(in_server, '{:.2f}')} | "
                  f"{f(fig(system, k, 'server_cpu_us_per_call'), '{:.1f}')} | {f(above if system != 'stub' else None, '{:+.1f}')} | "
                  f"{f(layers if system != 'stub' else None, '{:+.1f}')} | "
                  f"{f(fig(system, k, 'client_cpu_us_per_call'), '{:.1f}')} | {f(fig(system, k, 'recall'), '{:.4f}') if system != 'stub' else '–'} | "
                  f"{', '.join(sorted(errs)) or 'none'} |")
md.append("")

md += ["## SearchBatch of 100 queries", "", "| server | callers | queries/s | / in-process 2 threads | p50 µs per call | server CPU µs per query | client CPU µs per query |",
       "|---|---:|---:|---:|---:|---:|---:|"]
for system, label in systems:
    for c in (1, 2):
        k = f"batch100-c{c}"
        if fig(system, k, "qps") is None:
            continue
        cpu = fig(system, k, "server_cpu_us_per_call")
        ccpu = fig(system, k, "client_cpu_us_per_call")
        md.append(f"| {label} | {c} | {f(fig(system, k, 'items_per_s'))} | {f(ratio(system, k, 'inprocess', 't2', 'items_per_s'), '{:.2f}')} | "
                  f"{f(fig(system, k, 'p50_us'))} | {f(cpu / 100 if cpu else None, '{:.1f}')} | {f(ccpu / 100 if ccpu else None, '{:.1f}')} |")
md.append("")

md += ["## Streaming search (SearchStream)", ""]
if a.streaming != "yes":
    md += ["Pending: the SearchStream RPC and `ann-bench load --transport stream` come from another branch (s9-stream), not "
           "merged when this was measured.", ""]
else:
    md += ["| server | callers | QPS | / in-process 2 threads | p50 µs | p99 µs | server CPU µs/query |", "|---|---:|---:|---:|---:|---:|---:|"]
    for system, label in systems:
        for c in (1, 8):
            k = f"stream-c{c}"
            if not fig(system, k, "qps"):
                continue
            md.append(f"| {label} | {c} | {f(fig(system, k, 'qps'))} | {f(ratio(system, k, 'inprocess', 't2', 'qps'), '{:.2f}')} | "
                      f"{f(fig(system, k, 'p50_us'))} | {f(fig(system, k, 'p99_us'))} | {f(fig(system, k, 'server_cpu_us_per_call'), '{:.1f}')} |")
    md.append("")

md += ["## Upsert (durable: acknowledged after the log's fsync'd commit)", "",
       "New ids, the queries' vectors; measured after the searches on the same server.", "",
       "| server | points per call | writers | points/s | p50 µs per call | p99 µs per call | server CPU µs per point | errors |",
       "|---|---:|---:|---:|---:|---:|---:|---|"]
for system, label in systems:
    for b in (1, 100):
        for w in (1, 8, 32):
            k = f"upsert{b}-w{w}"
            if fig(system, k, "qps") is None:
                continue
            cpu = fig(system, k, "server_cpu_us_per_call")
            errs = {e for r in rounds if (r, system, k) in runs for e in runs[(r, system, k)]["errors"]}
            md.append(f"| {label} | {b} | {w} | {f(fig(system, k, 'items_per_s'))} | {f(fig(system, k, 'p50_us'))} | {f(fig(system, k, 'p99_us'))} | "
                      f"{f(cpu / b if cpu else None, '{:.1f}')} | {', '.join(sorted(errs)) or 'none'} |")
md.append("")

variants = sorted({s for _, s, _ in runs if s.startswith("variant-")})
if variants:
    md += ["## Runtime settings tried on this tree's server", "",
           "Each variant is this tree's server started with the environment shown in the command; ratios are against "
           "`this tree` in the same round.", "",
           "| variant | callers | QPS | QPS / this tree | p50 µs | in-server p50 µs | in-server / this tree | server CPU µs/call | CPU / this tree |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for v in variants:
        for c in (1, 8):
            k = f"search-c{c}"
            md.append(f"| {v[len('variant-'):]} | {c} | {f(fig(v, k, 'qps'))} | {f(ratio(v, k, 'current', k, 'qps'), '{:.2f}')} | "
                      f"{f(fig(v, k, 'p50_us'))} | {f(fig(v, k, 'server_time_p50_us'))} | "
                      f"{f(ratio(v, k, 'current', k, 'server_time_p50_us'), '{:.2f}')} | {f(fig(v, k, 'server_cpu_us_per_call'), '{:.1f}')} | "
                      f"{f(ratio(v, k, 'current', k, 'server_cpu_us_per_call'), '{:.2f}')} |")
    md.append("")

os.makedirs(os.path.dirname(os.path.abspath(a.markdown)), exist_ok=True)
open(a.markdown, "w").write("\n".join(md))
json.dump({"command": a.command.strip(), "baseline": a.baseline, "machine": machine, "rounds": rounds,
           "load_before": a.load_before.strip(), "load_after": a.load_after.strip(),
           "runs": [{"round": r, "system": s, "kind": k, **v} for (r, s, k), v in sorted(runs.items())]},
          open(a.json, "w"), indent=1)
