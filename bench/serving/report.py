#!/usr/bin/env python3
"""Turns the runs of bench/serving/run.sh (one ann-bench JSON per run: <dataset>/r<round>-<system>-<kind>.json) into
bench/results/serving.md and .json: one part per dataset. Each figure is the median over rounds; ratios are taken
within a round first."""
import argparse, glob, json, os, re, statistics

p = argparse.ArgumentParser()
p.add_argument("--runs", required=True)
p.add_argument("--datasets", default="fashion-mnist")
p.add_argument("--profiles", help="the folder of bench/serving/profile.sh's <mode>.json")
p.add_argument("--baseline", required=True)
p.add_argument("--streaming", default="no")
p.add_argument("--load-before", default="")
p.add_argument("--load-after", default="")
p.add_argument("--command", default="")
p.add_argument("--note")
p.add_argument("--json", required=True)
p.add_argument("--markdown", required=True)
a = p.parse_args()

DATASETS = {
    "fashion-mnist": ("Fashion-MNIST", "60,000 × 784, L2, snapshot M 16, efConstruction 200; k 10, ef 14"),
    "clustered-1m": ("1,000,000 × 128, clustered",
                     "1,000,000 × 128 around 1,000 Gaussian clusters (`ann-bench datasets clustered`, seed 21), L2, "
                     "snapshot M 16, efConstruction 200; k 10, ef 64"),
}
machine = None

def read_runs(folder):
    """(round, system, kind) -> dict of figures, for one dataset's folder."""
    global machine
    found = {}
    for path in sorted(glob.glob(os.path.join(folder, "r*-*.json"))):
        m = re.match(r"r(\d+)-(inprocess|stubwork|stub|baseline|current|variant-[^-]+)-(.+)\.json$", os.path.basename(path))
        if not m:
            continue
        d = json.load(open(path))
        machine = machine or d.get("machine")
        row = d["rows"][0]
        pt = row["points"][0]
        load = row.get("load") or {}
        pct = {x["percentile"]: x["latency_us"] for x in load.get("percentiles", [])}
        found[(int(m[1]), m[2], m[3])] = {
            "qps": pt.get("qps"), "recall": pt.get("recall"), "p50_us": pt.get("p50_us"), "p99_us": pt.get("p99_us"),
            "p999_us": pct.get(99.9, pt.get("p999_us")), "items_per_s": load.get("items_per_second") or pt.get("qps"),
            "server_time_p50_us": load.get("server_time_p50_us"), "server_time_p99_us": load.get("server_time_p99_us"),
            "server_cpu_us_per_call": load.get("server_cpu_us_per_call"), "client_cpu_us_per_call": load.get("client_cpu_us_per_call"),
            "batch": load.get("batch_size", 1), "errors": load.get("errors") or {},
        }
    return found

datasets = [d for d in a.datasets.split(",") if d]
all_runs = {d: read_runs(os.path.join(a.runs, d)) for d in datasets}
for d in datasets:
    if not all_runs[d]:
        raise SystemExit(f"no runs of {d} in {a.runs}/{d}")
runs, rounds = {}, []


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
md = ["# Serving: from the engine to gRPC", ""]
md += [f"Made by `{a.command.strip()}`; each figure the median over rounds. Each load run is measured after a warm-up "
       "that lasts until the client's JIT compiler has gone quiet (1 s at least, up to 21 s; `ann-bench load "
       "--warmup-settle-limit`): tiered compilation of the client's and the server's gRPC path runs for seconds after "
       "start, and pages before session 12 measured part of it. Client and server share the machine's 2 "
       "cores, so QPS counts the client's work too; CPU per call is read from /proc/PID/stat (user + system, all threads) "
       "over the measured time, for the server and for the client. Machine: "
       + (f"{machine.get('cpu', '?')}, {machine.get('cores', '?')} cores" if machine else "?")
       + f"; load average before: `{a.load_before.strip()}`, after: `{a.load_after.strip()}`.", ""]
if a.note:
    md += [a.note, ""]
md += ["Datasets: " + "; ".join(f"{DATASETS[d][0]} ({DATASETS[d][1]})" for d in datasets) + ".", ""]

def machine_cpu(system, kind):
    """Server + client CPU per call, median over rounds."""
    return med([runs[(r, system, kind)]["server_cpu_us_per_call"] + runs[(r, system, kind)]["client_cpu_us_per_call"]
                for r in rounds if (r, system, kind) in runs and runs[(r, system, kind)]["server_cpu_us_per_call"] is not None
                and runs[(r, system, kind)]["client_cpu_us_per_call"] is not None])

def floor_part():
    """What the stub allows of each throughput goal. A search costs S of CPU (the in-process 1-thread p50, as in the
    layers column: on a loaded machine 2 s over the 2-thread QPS counts other work's time too) and the bare stack at
    least X (the stub's server + client CPU per message): on 2 cores no server on this stack exceeds 2 s / (S + X)
    searches per second, i.e. S / (S + X) of in-process (2 s / S)."""
    search = med([runs[(r, "inprocess", "t1")]["p50_us"] for r in rounds if (r, "inprocess", "t1") in runs])
    unary, stream = machine_cpu("stub", "search-c8"), machine_cpu("stub", "stream-c8")
    if not search or not unary:
        return
    md.extend(["### The floor against the goals", "",
               f"A search costs S = {search:.1f} µs of CPU (the in-process 1-thread p50, as in the layers column). The bare "
               "stack costs X per message at the least (the stub's server + client CPU, 8 callers or 8 streams). "
               "No server on this stack can pass S / (S + X) of in-process; the rows say how much of each goal that "
               "floor leaves, and where this tree is.", "",
               "| goal | floor: X µs per message (per search) | best possible | share of the goal the floor allows | this tree | this tree / best possible |",
               "|---|---:|---:|---:|---:|---:|"])
    rows = []
    ours_unary = ratio("current", "search-c8", "inprocess", "t2", "qps")
    rows.append(("unary at 8 callers ≥ 0.6× in-process", 0.6, unary, search / (search + unary), ours_unary))
    if stream:
        ours_stream = ratio("current", "stream-c8", "inprocess", "t2", "qps")
        rows.append(("streaming at 8 streams ≥ 0.9× in-process", 0.9, stream, search / (search + stream), ours_stream))
        # Against this tree's unary as measured: the better that is, the less room the floor leaves a stream.
        ours_vs_unary = ratio("current", "stream-c8", "current", "search-c8", "qps")
        if ours_unary:
            rows.append(("streaming at 8 streams ≥ 2× this tree's unary at 8 callers", 2.0, stream,
                         search / (search + stream) / ours_unary, ours_vs_unary))
    # Several searches a message: the stack's cost is per message, so its floor per search is X / n.
    for n in (8, 16, 32):
        several = machine_cpu("stub", f"stream{n}q-c8")
        if several:
            rows.append((f"streaming at 8 streams, {n} searches a message, ≥ 0.9× in-process", 0.9, several,
                         search / (search + several), ratio("current", f"stream{n}q-c8", "inprocess", "t2", "qps")))
    multi = machine_cpu("stub", "stream8q-c8")
    if multi:
        if ours_unary:
            rows.append(("streaming at 8 streams, 8 searches a message, ≥ 2× this tree's unary at 8 callers", 2.0, multi,
                         search / (search + multi) / ours_unary, ratio("current", "stream8q-c8", "current", "search-c8", "qps")))
    for goal, target, x, best, ours in rows:
        md.append(f"| {goal} | {x:.1f} | {best:.2f} | {best / target:.0%} | {f(ours, '{:.2f}')} | "
                  f"{f(ours / best if ours else None, '{:.0%}')} |")
    md.append("")

def dataset_part(dataset):
  global runs, rounds, md
  runs = all_runs[dataset]
  rounds = sorted({r for r, _, _ in runs})
  md.extend([f"## {DATASETS[dataset][0]}", "", f"{DATASETS[dataset][1]}; {len(rounds)} round(s).", ""])
  md += ["### In-process (the engine, no transport)", "", "| threads | QPS | p50 µs | p99 µs | recall@10 |", "|---:|---:|---:|---:|---:|"]
  for t in (1, 2):
      k = f"t{t}"
      md.append(f"| {t} | {f(fig('inprocess', k, 'qps'))} | {f(fig('inprocess', k, 'p50_us'), '{:.1f}')} | "
                f"{f(fig('inprocess', k, 'p99_us'), '{:.1f}')} | {f(fig('inprocess', k, 'recall'), '{:.4f}')} |")
  md.append("")

  md += ["### Unary Search, closed loop", "",
         "QPS / in-process: against the 2-thread in-process QPS of the same round (1-thread for 1 caller). In-server / "
         "in-process: the server's own time per search (server_time_micros, p50) over the in-process 1-thread p50. Server CPU "
         "above stub: this system's server CPU per call minus the stub's at the same callers, same round; layers: that minus "
         "the search itself (the in-process 1-thread p50: one search's time on one thread, which a loaded machine's "
         "preemptions inflate less than 1 / QPS), i.e. what AnnServer's own code costs per call beyond the bare "
         "gRPC stack and the engine. Above stub + search: this system's server CPU per call minus that of the stub doing "
         "a search's CPU per call (`--work-micros`, the in-process 1-thread p50) at the same callers, same round: the "
         "plain stub answers at 2-3x a server's rate, where Kestrel and the thread pool amortise wake-ups over more calls, "
         "so its CPU per call understates the bare stack's at a server's rate; this column compares like with like, and "
         "also counts a search that runs slower in the server than in-process.", "",
         "| server | callers | QPS | / in-process | p50 µs | p99 µs | p99.9 µs | in-server p50 µs | in-server / in-process | server CPU µs/call | above stub | layers µs/call | above stub + search µs/call | client CPU µs/call | recall@10 | errors |",
         "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
  for system, label in systems[:1] + [("stubwork", "stub + a search's CPU (the floor at a server's rate)")] + systems[1:]:
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
          above_working = med([runs[(r, system, k)]["server_cpu_us_per_call"] - runs[(r, "stubwork", k)]["server_cpu_us_per_call"]
                               for r in rounds if (r, system, k) in runs and (r, "stubwork", k) in runs
                               and runs[(r, system, k)]["server_cpu_us_per_call"] is not None
                               and runs[(r, "stubwork", k)]["server_cpu_us_per_call"] is not None])
          in_server = med([runs[(r, system, k)]["server_time_p50_us"] / runs[(r, "inprocess", "t1")]["p50_us"]
                           for r in rounds if (r, system, k) in runs and (r, "inprocess", "t1") in runs
                           and runs[(r, system, k)]["server_time_p50_us"] and runs[(r, "inprocess", "t1")]["p50_us"]])
          errs = {e for r in rounds if (r, system, k) in runs for e in runs[(r, system, k)]["errors"]}
          md.append(f"| {label} | {c} | {f(fig(system, k, 'qps'))} | {f(rel, '{:.2f}')} | {f(fig(system, k, 'p50_us'))} | "
                    f"{f(fig(system, k, 'p99_us'))} | {f(fig(system, k, 'p999_us'))} | {f(fig(system, k, 'server_time_p50_us'))} | "
                    f"{f(in_server, '{:.2f}')} | "
                    f"{f(fig(system, k, 'server_cpu_us_per_call'), '{:.1f}')} | {f(above if not system.startswith('stub') else None, '{:+.1f}')} | "
                    f"{f(layers if not system.startswith('stub') else None, '{:+.1f}')} | "
                    f"{f(above_working if not system.startswith('stub') else None, '{:+.1f}')} | "
                    f"{f(fig(system, k, 'client_cpu_us_per_call'), '{:.1f}')} | {f(fig(system, k, 'recall'), '{:.4f}') if not system.startswith('stub') else '–'} | "
                    f"{', '.join(sorted(errs)) or 'none'} |")
  md.append("")

  md += ["### SearchBatch of 100 queries", "", "| server | callers | queries/s | / in-process 2 threads | p50 µs per call | server CPU µs per query | client CPU µs per query |",
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

  md += ["### Streaming search (SearchStream)", ""]
  if a.streaming != "yes":
      md += ["Pending: `ann-bench load` has no `--transport stream` in this tree.", ""]
  else:
      md += ["Closed loop, each stream keeping 16 searches in flight (`ann-bench load --transport stream`), one search "
             "a message or 8 (`--queries-per-message 8`: SearchStreamRequest.searches, answered together; the baseline "
             "has no such messages); at 8 streams also 16 and 32 a message, two messages in flight a stream (a window of "
             "32 or 64 searches; this tree's server started again with `--max-stream-in-flight 64`). The stub answers each message with its fixed hits as it reads it: its rows are the "
             "floor of a stream message. "
             "Machine CPU: server + client per message, on the same 2 cores. Layers: server CPU above the stub's at "
             "the same streams, less the search (the in-process 1-thread p50), as for unary calls.", "",
             "| server | streams | QPS | / in-process 2 threads | p50 µs | p99 µs | server CPU µs/query | layers µs/query | client CPU µs/query | machine CPU µs/query |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
      for system, label in systems:
          for k, c in (("stream-c1", "1"), ("stream-c8", "8"), ("stream8q-c1", "1, 8 a message"), ("stream8q-c8", "8, 8 a message"),
                       ("stream16q-c8", "8, 16 a message"), ("stream32q-c8", "8, 32 a message")):
              if not fig(system, k, "qps"):
                  continue
              layers = None if system == "stub" else med(
                  [runs[(r, system, k)]["server_cpu_us_per_call"] - runs[(r, "stub", k)]["server_cpu_us_per_call"]
                   - runs[(r, "inprocess", "t1")]["p50_us"]
                   for r in rounds if (r, system, k) in runs and (r, "stub", k) in runs and (r, "inprocess", "t1") in runs
                   and runs[(r, system, k)]["server_cpu_us_per_call"] is not None
                   and runs[(r, "stub", k)]["server_cpu_us_per_call"] is not None])
              md.append(f"| {label} | {c} | {f(fig(system, k, 'qps'))} | {f(ratio(system, k, 'inprocess', 't2', 'qps'), '{:.2f}')} | "
                        f"{f(fig(system, k, 'p50_us'))} | {f(fig(system, k, 'p99_us'))} | {f(fig(system, k, 'server_cpu_us_per_call'), '{:.1f}')} | "
                        f"{f(layers, '{:+.1f}')} | "
                        f"{f(fig(system, k, 'client_cpu_us_per_call'), '{:.1f}')} | {f(machine_cpu(system, k), '{:.1f}')} |")
      md.append("")
  floor_part()

  md += ["### Upsert (durable: acknowledged after the log's fsync'd commit)", "",
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
      md += ["### Runtime settings tried on this tree's server", "",
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

for d in datasets:
  dataset_part(d)

def profile_part(folder):
    found = [json.load(open(path)) for path in sorted(glob.glob(os.path.join(folder, "*.json")), reverse=True)  # unary first
             if not path.endswith("-load.json")]
    found = [p for p in found if p.get("samples")]
    if not found:
        return
    names = []
    for p in found:
        names += [n for n in p["shares"] if n not in names]
    md.extend(["## Where the server's CPU goes (perf, Fashion-MNIST)", "",
               "This tree's server under `perf record -g` (stacks by frame pointer, the JIT's code named through "
               "DOTNET_PerfMapEnabled=1), driven by `ann-bench load` for the measured time after a warm-up "
               "(bench/serving/profile.sh). Each sample goes to the first category met walking its stack from the leaf "
               "outwards (any GC frame makes it GC's), so a BCL call counts for the layer that made it "
               "(bench/serving/profile_summary.py). µs per call: the share times the profiled run's server CPU per call.", "",
               "| where | " + " | ".join(f"{p['label']}: share | µs per call" for p in found) + " |",
               "|---|" + "---:|---:|" * len(found)])
    for n in names:
        cells = []
        for p in found:
            share = p["shares"].get(n, 0.0)
            cpu = p.get("server_cpu_us_per_call")
            cells += [f"{share:.1%}", f(share * cpu if cpu else None, "{:.1f}")]
        md.append(f"| {n} | " + " | ".join(cells) + " |")
    md.append("| samples; server CPU µs per call | " + " | ".join(
        f"{p['samples']:,} | {f(p.get('server_cpu_us_per_call'), '{:.1f}')}" for p in found) + " |")
    md.append("")

if a.profiles:
    profile_part(a.profiles)

os.makedirs(os.path.dirname(os.path.abspath(a.markdown)), exist_ok=True)
open(a.markdown, "w").write("\n".join(md))
json.dump({"command": a.command.strip(), "baseline": a.baseline, "machine": machine, "datasets": datasets,
           "load_before": a.load_before.strip(), "load_after": a.load_after.strip(),
           "runs": [{"dataset": d, "round": r, "system": s, "kind": k, **v}
                    for d in datasets for (r, s, k), v in sorted(all_runs[d].items())]},
          open(a.json, "w"), indent=1)
