#!/usr/bin/env python3
"""Sorts the samples of `perf script` (a server profiled with DOTNET_PerfMapEnabled=1, stacks by frame pointer) into
where the server's CPU goes: the search (the engine), the HTTP/2 stack (Kestrel, sockets, pipelines and the kernel's
TCP), protobuf, gRPC's own code, the thread pool (dispatch, spinning, parking), the GC, AnnServer's own layers (the
host's services, interceptors, metrics, limits) and the rest. A sample goes to the first category met walking its stack
from the leaf outwards, except that any GC frame makes it GC's; so a BCL call (a dictionary lookup, a copy) counts for
the layer that made it.

usage: perf script -i perf.data | profile_summary.py --label "8 unary callers" --json out.json
"""
import argparse, json, re, sys

# (category, pattern on a frame's symbol and library), tried in this order on each frame.
CATEGORIES = [
    ("search", re.compile(r"AnnServer\.Core\.|AnnServer\.Collections\.")),
    ("protobuf", re.compile(r"Google\.Protobuf\.|AnnServer\.Protocol\.")),
    ("gRPC", re.compile(r"Grpc\.AspNetCore\.|Grpc\.Core\.|Grpc\.Shared\.")),
    # The engine's entry (HnswIndex.SearchUnchecked) is never inlined, so that its samples count as the search; tiered
    # PGO may still inline the collection's thin wrapper around it (Collection.Search: counters, the index generation)
    # into this method: its own samples are that and the service's mapping of the request and the response.
    ("VectorGrpcService.SearchHere itself (the mapping, the collection's wrapper inlined)",
     re.compile(r"AnnServer\.Services\.VectorGrpcService::SearchHere$")),
    ("AnnServer's own layers", re.compile(r"\bAnnServer\.(Services|Diagnostics|Limits|Security|Hosting|Settings)\.")),
    ("HTTP/2, Kestrel, sockets", re.compile(
        r"Microsoft\.AspNetCore\.|System\.Net\.|System\.IO\.Pipelines\.|tcp_|sock_|inet_|ip_|__sys_send|__sys_recv|"
        r"\bsend\b|\brecv|epoll|__x64_sys_(sendto|recvfrom|sendmsg|recvmsg|epoll|write|read)|skb|netif|loopback|__dev_|"
        r"net_rx|do_softirq|__napi|nf_|veth|bpf")),
    ("thread pool: dispatch, spin, park", re.compile(
        r"System\.Threading\.(PortableThreadPool|ThreadPool|ThreadPoolWorkQueue|LowLevelLifoSemaphore|LowLevelSpinWaiter|"
        r"WorkerThread|Thread\.|SpinWait|Tasks\.|ExecutionContext|TimerQueue|ManualResetEventSlim|SemaphoreSlim|Monitor)|"
        r"System\.Runtime\.CompilerServices\.(AsyncTask|AsyncValueTask|AsyncMethodBuilder|PoolingAsync)|"
        r"futex|sched_yield|__schedule|schedule\b|do_sched_yield|pthread_cond|SwitchToThread|YieldProcessor|"
        r"ClrSleepEx|CLREvent|finish_task_switch|pick_next|__x64_sys_futex|__x64_sys_sched_yield|PAL_|ThreadNative::")),
]
GC = re.compile(r"\bWKS::|\bSVR::|gc_heap|GCHeap|JIT_New|Alloc(ate)?Object|memset_repmovs|GCToEEInterface")
JIT = re.compile(r"libclrjit|CILJit|Compiler::|jitNativeCode|TieredCompilation|CallCountingStub")

# A JIT'd frame in the perf map reads "[return type] [assembly] Namespace.Type::Method(parameters)": the type that
# owns the method follows the last "] " before "::"; return and parameter types (a Task of a protobuf response, say)
# must not decide the category.
OWNER = re.compile(r"\[[^\]]+\] ([^\s(]+?::[^\s(]+)\(")

def owner(frame):
    m = OWNER.search(frame)
    return m[1] if m else frame

def categorise(frames):
    frames = [owner(f) for f in frames]
    if any(GC.search(f) for f in frames):
        return "GC and allocation"
    for frame in frames:
        for name, pattern in CATEGORIES:
            if pattern.search(frame):
                return name
    if any(JIT.search(f) for f in frames):
        return "JIT"
    return "other (runtime, kernel, unresolved)"

def samples(lines):
    frames = []
    for line in lines:
        line = line.rstrip("\n")
        if not line.strip():
            if frames:
                yield frames
            frames = []
        elif line.startswith(("\t", " ")):
            frames.append(line.strip())
        else:
            frames = []  # a sample's header line; its stack follows
    if frames:
        yield frames

def main():
    p = argparse.ArgumentParser()
    p.add_argument("--label", required=True)
    p.add_argument("--json", required=True)
    a = p.parse_args()
    counts, total = {}, 0
    for frames in samples(sys.stdin):
        total += 1
        name = categorise(frames)
        counts[name] = counts.get(name, 0) + 1
    shares = {name: counts[name] / total for name in sorted(counts, key=counts.get, reverse=True)} if total else {}
    json.dump({"label": a.label, "samples": total, "shares": shares}, open(a.json, "w"), indent=1)
    print(f"{a.label}: {total} samples")
    for name, share in shares.items():
        print(f"  {share:6.1%}  {name}")

main()
