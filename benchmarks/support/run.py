#!/usr/bin/env python3
"""benchmarks/run (through the benchmarks/run wrapper): builds and runs the benchmark suite for coport, CAF and Erlang/OTP side by
side, and prints one table with the ratios measured in this run.

  benchmarks/run [--only NAME] [--json FILE] [--timeout SECONDS]

CAF (Debian's libcaf-dev) and Erlang (erlang-nox) are optional: each is built and run when
installed and skipped with a message when not. Every program prints lines of the shape
`runtime=... bench=... value=... unit=... params=...`; --json FILE writes every result as a
JSON line (runtime, bench, value, unit, params).
"""
import argparse, json, os, platform, shutil, subprocess, sys, time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.join(ROOT, "build-bench")

# Each workload and the argument sets it runs with: identical for every runtime.
WORKLOADS = {
    "pingpong": [[]],
    "count": [[]],
    "fanin": [[]],
    "spawn": [["idle=0"], ["n=0"]],
    "threadring": [[]],
    "fanout": [[]],
    "selective": [["k=0"], ["k=10"], ["k=1000", "iterations=20000"]],
    "latency": [[]],
    "wire": [[]],
    "remote": [[]],
    "mesh": [[]],
    "pg": [[]],
}
# Workloads only coport runs (no peer program has them; their figures stand beside coport's
# own local ones from the same run).
COPORT_ONLY = {"wire"}
# Workloads a peer has no program for: CAF has no discovery or registry to set beside
# coport's mesh (the issue compares it with Erlang's global and pg).
SKIP = {"mesh": {"caf"}}
# coport runs its two variants (event ports, coroutine actors) in separate processes where a
# figure is per process (peak and idle memory).
COPORT_ARGS = {
    "spawn": [["idle=0", "only=1"], ["idle=0", "only=2"], ["idle=0", "only=1", "from_actor=1"],
              ["idle=0", "only=2", "from_actor=1"], ["n=0", "only=1"], ["n=0", "only=2"]],
    # and, for remote, what the secret adds to a round trip, the links' rounds interleaved
    "remote": [[], ["alternate=20", "n=100000"]],
}
LOWER_IS_BETTER = {"ns", "ns/receive", "bytes/actor", "MiB", "us", "ms", "%core"}


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def build():
    sh(["cmake", "-S", ROOT, "-B", BUILD, "-DCMAKE_BUILD_TYPE=Release", "-DCOPORT_BUILD_TESTS=OFF",
        "-DCOPORT_BUILD_SAMPLES=OFF"], stdout=subprocess.DEVNULL)
    targets = ["coport-bench"]
    runners = {"coport": [os.path.join(BUILD, "benchmarks", "coport-bench")]}
    caf = os.path.join(BUILD, "benchmarks", "peers", "caf", "caf-bench")
    cache = open(os.path.join(BUILD, "CMakeCache.txt")).read()
    if "COPORT_CAF_CORE:FILEPATH=/" in cache:
        targets.append("caf-bench")
        runners["caf"] = [caf]
    else:
        log("# CAF peer skipped: libcaf-dev is not installed (benchmarks/run --install-peers)")
    log("# building " + " ".join(targets))
    sh(["cmake", "--build", BUILD, "-j", str(os.cpu_count() or 2), "--target"] + targets,
       stdout=subprocess.DEVNULL)
    if shutil.which("erlc") and shutil.which("erl"):
        ebin = os.path.join(BUILD, "erlang")
        os.makedirs(ebin, exist_ok=True)
        src = os.path.join(ROOT, "benchmarks", "peers", "erlang")
        sh(["erlc", "-o", ebin] + sorted(os.path.join(src, f) for f in os.listdir(src)
                                         if f.endswith(".erl")))
        runners["erlang"] = ["erl", "-noshell", "-pa", ebin, "-run", "bench", "main"]
    else:
        log("# Erlang peer skipped: erlang-nox is not installed (benchmarks/run --install-peers)")
    return runners


def parse(line):
    fields = dict(part.split("=", 1) for part in line.split() if "=" in part)
    if not {"runtime", "bench", "value", "unit", "params"} <= fields.keys():
        return None
    fields["value"] = float(fields["value"])
    return fields


def run_one(runner, name, args, timeout):
    cmd = runner + [name] + args
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        log(f"# TIMEOUT after {timeout}s: {' '.join(cmd)}")
        return []
    if out.returncode != 0:
        log(f"# FAILED ({out.returncode}): {' '.join(cmd)}\n{out.stderr.strip()}")
    results = [r for r in map(parse, out.stdout.splitlines()) if r]
    for r in results:
        log(f"runtime={r['runtime']} bench={r['bench']} value={r['value']:.6g} unit={r['unit']} "
            f"params={r['params']}")
    return results


def fmt(v):
    if v is None:
        return "-"
    if v >= 1e6:
        return f"{v / 1e6:.2f}M"
    if v >= 1e4:
        return f"{v / 1e3:.1f}k"
    return f"{v:.1f}"


def ratio(ours, theirs, unit):
    if ours is None or theirs is None or ours == 0 or theirs == 0:
        return "-"
    r = theirs / ours if unit in LOWER_IS_BETTER else ours / theirs
    return f"{r:.2f}x"


def table(results, runtimes):
    rows = {}
    for r in results:
        key = (r["bench"], r["params"], r["unit"])
        rows.setdefault(key, {})[r["runtime"]] = r["value"]
    cols = ["coport", "coport-coro"] + [p for p in ("caf", "erlang") if p in runtimes]
    for floor in ("tcp-floor", "tcp-floor-spin", "coport-auth", "coport-aead", "coport-tls"):
        if any(r["runtime"] == floor for r in results):
            # remote: plain sockets (blocking; polling), and coport's links with the secret
            # (records authenticated; encrypted) and over TLS, in the same run
            cols.append(floor)
    head = ["bench", "params", "unit"] + cols
    for p in ("caf", "erlang"):
        if p in runtimes:
            head += [f"event/{p}", f"coro/{p}"]
    lines = [head]
    for (bench, params, unit), vals in rows.items():
        line = [bench, params, unit] + [fmt(vals.get(c)) for c in cols]
        for p in ("caf", "erlang"):
            if p in runtimes:
                line += [ratio(vals.get("coport"), vals.get(p), unit),
                         ratio(vals.get("coport-coro"), vals.get(p), unit)]
        lines.append(line)
    widths = [max(len(l[i]) for l in lines) for i in range(len(head))]
    out = []
    for i, l in enumerate(lines):
        out.append("  ".join(c.ljust(w) for c, w in zip(l, widths)))
        if i == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(prog="benchmarks/run", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", choices=sorted(WORKLOADS), help="run one workload")
    ap.add_argument("--json", metavar="FILE", help="also write every result as JSON lines")
    ap.add_argument("--timeout", type=int, default=120, help="seconds per program run (default 120)")
    opts = ap.parse_args()
    start = time.time()
    runners = build()
    results = []
    for name, arg_sets in WORKLOADS.items():
        if opts.only and name != opts.only:
            continue
        for runtime, runner in runners.items():
            if name in COPORT_ONLY and runtime != "coport":
                continue
            if runtime in SKIP.get(name, ()):
                continue
            sets = COPORT_ARGS.get(name, arg_sets) if runtime == "coport" else arg_sets
            for args in sets:
                results += run_one(runner, name, args, opts.timeout)
    cpu = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    print(f"# machine: {os.cpu_count()} cores, {cpu}, {platform.platform()}")
    print(f"# ratios: coport's event ports (event) and coroutine actors (coro) against each peer; "
          f">1 means coport is better (for ns and bytes: smaller)")
    print(table(results, runners))
    print(f"# {len(results)} results in {time.time() - start:.0f}s")
    if opts.json:
        with open(opts.json, "w") as f:
            for r in results:
                f.write(json.dumps({k: r[k] for k in ("runtime", "bench", "value", "unit", "params")}) + "\n")


if __name__ == "__main__":
    main()
