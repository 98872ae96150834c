#!/usr/bin/env python3
"""Turns the runs of bench/run-pipeline.sh (its runs-N folder) into bench/results/pipeline.md and .json.
Figures per round first, ratios within a round (the two runs of a pair ran one after the other), then medians."""
import argparse, glob, json, os, platform, re, statistics, subprocess

p = argparse.ArgumentParser()
p.add_argument("--runs", required=True)
p.add_argument("--points", type=int, required=True)
p.add_argument("--rounds", type=int, required=True)
p.add_argument("--command", default="")
p.add_argument("--note")
p.add_argument("--json", required=True)
p.add_argument("--markdown", required=True)
a = p.parse_args()
runs = a.runs


def read(name):
    with open(os.path.join(runs, name)) as f:
        return f.read()


def exists(name):
    return os.path.exists(os.path.join(runs, name))


def time_report(name):
    """Whole-process figures of /usr/bin/time -v: wall seconds, max resident MiB."""
    text = read(name + ".time")
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", text)[1].split(":")
    seconds = sum(float(x) * 60 ** i for i, x in enumerate(reversed(wall)))
    rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)[1])
    cpu = float(re.search(r"User time \(seconds\): (\S+)", text)[1]) + float(re.search(r"System time \(seconds\): (\S+)", text)[1])
    return {"wall_s": round(seconds, 2), "cpu_s": round(cpu, 2), "max_rss_mib": round(rss_kb / 1024, 1)}


def ann_build(name):
    """ann-build's own summary (read, build, save, total, peak memory) and the whole-process figures."""
    text = read(name + ".log")
    figures = {}
    for key in ("read", "build", "save", "total"):
        m = re.search(rf"^  {key}\s+([\d,.]+) s", text, re.M)
        figures[key + "_s"] = float(m[1].replace(",", "")) if m else None
    m = re.search(r"^  peak memory\s+([\d.]+) (MiB|GiB|KiB)", text, re.M)
    figures["peak_mib"] = round(float(m[1]) * {"KiB": 1 / 1024, "MiB": 1, "GiB": 1024}[m[2]], 1) if m else None
    figures.update(time_report(name))
    return figures


def hnswlib(name):
    row = json.loads(read(name + ".json"))["rows"][0]
    figures = {"build_s": row.get("build_seconds")}
    figures.update(time_report(name))
    return figures


def median(values):
    values = [v for v in values if v is not None]
    return round(statistics.median(values), 3) if values else None


def ratio(x, y):
    return round(x / y, 3) if x is not None and y else None


sets = ["clustered"] + (["fmnist"] if glob.glob(os.path.join(runs, "r1-fmnist-annbuild-fvecs.log")) else [])
set_names = {"clustered": f"{a.points:,} × 128 clustered (seed 21)", "fmnist": "Fashion-MNIST 60,000 × 784"}
rounds = range(1, a.rounds + 1)
result = {"points": a.points, "rounds": a.rounds, "command": a.command, "note": a.note,
          "load_before": read("load-before.txt").strip(), "load_after": read("load-after.txt").strip(),
          "machine": {"cpu": subprocess.run(["sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"],
                                            capture_output=True, text=True).stdout.strip(),
                      "cores": os.cpu_count(), "kernel": platform.release()}}

# 1. ann-build against hnswlib
pairs = []
for r in rounds:
    ours, theirs = ann_build(f"r{r}-clustered-annbuild-fvecs"), hnswlib(f"r{r}-clustered-hnswlib")
    pairs.append({"round": r, "ann_build": ours, "hnswlib": theirs,
                  "build_ratio": ratio(ours["build_s"], theirs["build_s"]),
                  "wall_ratio": ratio(ours["wall_s"], theirs["wall_s"]),
                  "cpu_ratio": ratio(ours["cpu_s"], theirs["cpu_s"]),
                  "rss_ratio": ratio(ours["max_rss_mib"], theirs["max_rss_mib"])})
result["build_vs_hnswlib"] = {"pairs": pairs, **{f"median_{k}": median([x[k] for x in pairs])
                                                 for k in ("build_ratio", "wall_ratio", "cpu_ratio", "rss_ratio")}}

# 2. Parquet against fvecs
inputs = {}
for s in sets:
    per_input = {}
    for source in ("fvecs", "parquet", "parts"):
        per_input[source] = [ann_build(f"r{r}-{s}-annbuild-{source}") for r in rounds]
    compare = {}
    for source in ("parquet", "parts"):
        compare[source] = {k: median([ratio(per_input[source][i][k], per_input["fvecs"][i][k]) for i in range(len(rounds))])
                           for k in ("read_s", "total_s", "wall_s", "max_rss_mib")}
    inputs[s] = {"runs": per_input, "ratio_to_fvecs": compare,
                 "median": {source: {k: median([x[k] for x in per_input[source]]) for k in per_input[source][0]}
                            for source in per_input}}
result["parquet_vs_fvecs"] = inputs

# 3. LoadSnapshot and UploadSnapshot
loads = {}
for s in sets:
    entry = {}
    for way in ("file", "upload"):
        records = [json.loads(read(f"r{r}-{s}-load-{way}.json")) for r in rounds]
        for x in records:
            x["mb"] = round(x["bytes"] / 1e6, 1)
            x["mb_per_s"] = round(x["bytes"] / 1e6 / x["client_seconds"], 1)
            if way == "upload":
                x["stream_seconds"] = round((x["answered_unix_ms"] - x["stream_started_unix_ms"]) / 1000, 3)
                x["stream_mb_per_s"] = round(x["bytes"] / 1e6 / x["stream_seconds"], 1)
        entry[way] = {"runs": records, "median_client_seconds": median([x["client_seconds"] for x in records]),
                      "median_mb_per_s": median([x["mb_per_s"] for x in records]),
                      "median_server_seconds": median([x["server_seconds"] for x in records])}
        if way == "upload":
            entry[way]["median_stream_mb_per_s"] = median([x["stream_mb_per_s"] for x in records])
            entry[way]["median_hash_seconds"] = median([x["hash_seconds"] for x in records])
    loads[s] = entry
result["load_snapshot"] = loads

# 4. blue/green under load
switches = {}
for s in sets:
    timeline = json.loads(read(f"{s}-switch-timeline.json"))
    seconds = timeline["seconds"]
    summary = json.loads(read(f"{s}-switch-load.json"))["rows"][0]
    load = summary["load"]
    events = {}
    steps = {x["step"]: x for x in json.loads(read(f"{s}-switch-steps.json")).get("steps", [])}
    for step, key, name in (("1-load-v2", "load-snapshot", "LoadSnapshot v2"), ("2-switch", "switch-alias", "SwitchAlias v1 → v2"),
                            ("3-drop-v1", "drop", "DropCollection v1")):
        x = steps[key]
        first = (x["started_unix_ms"] - timeline["start_unix_ms"]) // 1000
        last = (x["answered_unix_ms"] - timeline["start_unix_ms"]) // 1000
        window = [t for t in seconds if first <= t["second"] <= last + 1]  # the call's seconds and the one after
        events[step] = {"name": name, "first_second": first, "last_second": last, "call_seconds": x["client_seconds"],
                        "error": x.get("error"),
                        "p99_us_worst_second": max((t["p99_us"] for t in window), default=None),
                        "max_us": max((t["max_us"] for t in window), default=None),
                        "errors": sum(t["errors"] for t in window)}
    steady = [t for t in seconds if t["second"] < events["1-load-v2"]["first_second"]]
    after = [t for t in seconds if t["second"] > events["3-drop-v1"]["last_second"] + 1]
    rate = json.loads(read(f"{s}-switch-rate.json"))
    switches[s] = {
        "rate": rate["rate"], "capacity": rate["capacity"], "requests": load["requests"], "succeeded": load["succeeded"],
        "errors": load["errors"], "late_sends": load.get("late_sends"), "recall": summary["points"][0].get("recall"),
        "steady_p99_us": median([t["p99_us"] for t in steady]), "steady_seconds": len(steady),
        "after_p99_us": median([t["p99_us"] for t in after]), "events": events, "timeline": timeline,
        "all_seconds_inside": events["3-drop-v1"]["last_second"] + 1 < len(seconds),
        "errors_in_steps": sum(e["errors"] for e in events.values()),
        "seconds_with_errors": [{"second": t["second"], "errors": t["errors"]} for t in seconds if t["errors"]],
    }
result["blue_green"] = switches

with open(a.json, "w") as f:
    json.dump(result, f, indent=2, ensure_ascii=False)

# --- markdown ---------------------------------------------------------------------------------------------------
md = []
w = md.append
w(f"# The daily refresh, step by step: build, Parquet, LoadSnapshot, blue/green switch\n")
w(f"Issue 19's benchmarks on {set_names['clustered']}" + (" and Fashion-MNIST (60,000 × 784)" if "fmnist" in sets else "")
  + f", {a.rounds} round{'s' if a.rounds > 1 else ''}. Machine: {result['machine']['cpu']}, {result['machine']['cores']} cores; "
  + f"load average before: `{result['load_before'].split('load average: ')[-1]}`, after: `{result['load_after'].split('load average: ')[-1]}` "
  + "(other work shares the machine when it is above 2: read the ratios, not the absolute times).\n")
if a.note:
    w(a.note + "\n")
w(f"Made by `{a.command}` (the script says how each figure is taken); every run's output is in its runs folder.\n")

b = result["build_vs_hnswlib"]
w("## 1. ann-build against hnswlib's build\n")
w(f"{set_names['clustered']}, fvecs input, L2, M 16, efConstruction 200, 2 threads, both. hnswlib is the header library "
  "compiled with `-O3 -march=native` (bench/peers/hnswlib_native.cpp). Build: each tool's own timing of the graph build "
  "alone; wall and peak memory: the whole process (`/usr/bin/time -v`): ann-build's includes reading the fvecs and "
  "saving the snapshot, hnswlib's reading the fvecs, saving its index and 1,000 searches at ef 10 (a fraction of a second). "
  "CPU: the whole process's user + system seconds, the figure other work on a shared machine disturbs least. "
  "The two of a pair ran one after the other, the first taking turns.\n")
w("| round | ann-build build s | hnswlib build s | × | ann-build wall s | hnswlib wall s | × | ann-build CPU s | hnswlib CPU s | × | ann-build peak MiB | hnswlib peak MiB | × |")
w("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for x in b["pairs"]:
    o, t = x["ann_build"], x["hnswlib"]
    w(f"| {x['round']} | {o['build_s']:.1f} | {t['build_s']:.1f} | {x['build_ratio']:.3f} | {o['wall_s']:.1f} | {t['wall_s']:.1f} | "
      f"{x['wall_ratio']:.3f} | {o['cpu_s']:.1f} | {t['cpu_s']:.1f} | {x['cpu_ratio']:.3f} | {o['max_rss_mib']:.0f} | {t['max_rss_mib']:.0f} | {x['rss_ratio']:.3f} |")
w(f"| **median ×** | | | **{b['median_build_ratio']:.3f}** | | | **{b['median_wall_ratio']:.3f}** | | | **{b['median_cpu_ratio']:.3f}** | | | **{b['median_rss_ratio']:.3f}** |\n")
w("ann-build also reports its own peak (the process's peak working set): "
  + ", ".join(f"{x['ann_build']['peak_mib']:.0f} MiB" for x in b["pairs"]) + ".\n")

w("## 2. ann-build from Parquet against fvecs\n")
w("The same vectors written by DuckDB (`@duckdb/node-api`, its own Parquet writer, snappy, row groups of 122,880 rows): "
  "`item_id` BIGINT and `embedding` FLOAT[] (a list<float>, as Spark writes an array of floats); **file**: one "
  "`base.parquet`; **parts**: a folder of 8 `part-0000i-…-c000.snappy.parquet` files and `_SUCCESS`, as Spark leaves it. "
  "Same build options (M 16, efConstruction 200, 2 threads), ids from `--id-column item_id`. Read: ann-build's read "
  "phase alone (the file into memory, checked); total: read + build + save. Medians over the rounds; × is Parquet / "
  "fvecs within each round, then the median.\n")
w("| data | input | read s | build s | total s | peak MiB | × fvecs: read | × total | × peak |")
w("|---|---|---:|---:|---:|---:|---:|---:|---:|")
for s in sets:
    for source, label in (("fvecs", "fvecs"), ("parquet", "Parquet, one file"), ("parts", "Parquet, 8 part files")):
        m, c = inputs[s]["median"][source], inputs[s]["ratio_to_fvecs"].get(source)
        cells = [f"{c['read_s']:.2f}", f"{c['total_s']:.3f}", f"{c['max_rss_mib']:.2f}"] if c else ["", "", ""]
        w(f"| {set_names[s]} | {label} | {m['read_s']:.2f} | {m['build_s']:.1f} | {m['total_s']:.1f} | {m['max_rss_mib']:.0f} | "
          + " | ".join(cells) + " |")
w("")

w("## 3. LoadSnapshot and UploadSnapshot into a running server\n")
w("The fvecs build's snapshot loaded into a Release server (`annserver`, no other collection) as a new collection, then "
  "dropped: **file**: `LoadSnapshot` of the file under `--import-dir` (the server copies it into its data directory, "
  "verifies the checksums, loads it); **upload**: `UploadSnapshot`, the file sent in 1 MiB chunks over the client stream "
  "from the same machine (the client hashes it first: SHA-256, shown apart). Time: from the call to its answer, which "
  "comes once the collection serves (state READY in the answer's CollectionInfo). The file had just been written, so "
  "it is read from the page cache. Medians over the rounds.\n")
w("| data | file MB | way | call → serving s | MB/s | server's own s | upload: stream s | stream MB/s | hash s |")
w("|---|---:|---|---:|---:|---:|---:|---:|---:|")
for s in sets:
    for way in ("file", "upload"):
        e = loads[s][way]
        mb = e["runs"][0]["mb"]
        extra = (f"{median([x['stream_seconds'] for x in e['runs']]):.2f} | {e['median_stream_mb_per_s']:.0f} | {e['median_hash_seconds']:.2f}"
                 if way == "upload" else " | | ")
        w(f"| {set_names[s]} | {mb:,.0f} | {way} | {e['median_client_seconds']:.2f} | {e['median_mb_per_s']:.0f} | "
          f"{e['median_server_seconds']:.2f} | {extra} |")
w("\nThe state of every loaded collection in the answer: "
  + ", ".join(sorted({x["state"] for s in sets for way in ("file", "upload") for x in loads[s][way]["runs"]})) + ".\n")

w("## 4. Blue/green switch under a fixed rate of searches\n")
w("`ann-bench load --rate R --timeline` searches the alias (k 10, ef 64, open loop: each search due at its time, its "
  "latency counted from then) while one client process (`ann-bench admin blue-green`, connected before), about 10 s "
  "into the measured time, loads v2 (the Parquet build of the same vectors) with `LoadSnapshot`, switches the alias "
  "v1 → v2 3 s after it serves (`SwitchAlias` with the expected current target), and drops v1 3 s later. R is half the closed-loop capacity measured just before (8 callers, 5 s). "
  "p99 per second is that of the searches due in the second; steady: the median of the per-second p99 before "
  "LoadSnapshot v2 began; a step's worst second: the highest per-second p99 from the second its call started to the "
  "second after it answered.\n")
w("| data | R /s (capacity) | searches | errors | recall@10 | steady p99 µs | LoadSnapshot v2: worst p99 µs | switch: worst p99 µs | drop v1: worst p99 µs | after p99 µs |")
w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for s in sets:
    x = switches[s]
    ev = x["events"]
    errors = sum(x["errors"].values()) if x["errors"] else 0
    recall = f"{x['recall']:.4f}" if x["recall"] is not None else ""
    w(f"| {set_names[s]} | {x['rate']} ({x['capacity']:.0f}) | {x['requests']:,} | {errors} | {recall} | {x['steady_p99_us']:.0f} | "
      f"{ev['1-load-v2']['p99_us_worst_second']:.0f} ({ev['1-load-v2']['call_seconds']:.1f} s call) | "
      f"{ev['2-switch']['p99_us_worst_second']:.0f} | {ev['3-drop-v1']['p99_us_worst_second']:.0f} | "
      + (f"{x['after_p99_us']:.0f}" if x["after_p99_us"] is not None else "") + " |")
w("")
for s in sets:
    x = switches[s]
    failed = {k: v for k, v in (x["errors"] or {}).items()}
    where = ", ".join(f"{e['errors']} in second {e['second']}" for e in x["seconds_with_errors"])
    w(f"**{set_names[s]}**: " + ("no search failed, none in flight across the load, the switch or the drop" if not failed
                                  else f"{x['errors_in_steps']} searches failed in the seconds of the three steps; "
                                       f"{sum(failed.values())} in all ({', '.join(f'{k} {v}' for k, v in failed.items())}: {where}). "
                                       "RESOURCE_EXHAUSTED is the server shedding searches beyond --max-queued-searches") + (
        "" if x["all_seconds_inside"] else " (the drop ended after the measured time: give SWITCH_SECONDS more)") + ".\n")
    w("| second | due searches answered | errors | p50 µs | p99 µs | max µs | step |")
    w("|---:|---:|---:|---:|---:|---:|---|")
    marks = {}
    for step, e in x["events"].items():
        for sec in range(e["first_second"], e["last_second"] + 1):
            marks.setdefault(sec, []).append(e["name"] + (" (call)" if e["last_second"] > e["first_second"] else ""))
    shown = set()
    first_event = x["events"]["1-load-v2"]["first_second"]
    for sec in range(max(0, first_event - 3), first_event):
        shown.add(sec)
    for e in x["events"].values():
        shown.update(range(e["first_second"] - 1, e["last_second"] + 3))
    for t in x["timeline"]["seconds"]:
        if t["second"] in shown:
            w(f"| {t['second']} | {t['succeeded']:,} | {t['errors']} | {t['p50_us']:.0f} | {t['p99_us']:.0f} | {t['max_us']:.0f} | "
              + "; ".join(marks.get(t["second"], [])) + " |")
    w("")

with open(a.markdown, "w") as f:
    f.write("\n".join(md))
