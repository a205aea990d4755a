#!/usr/bin/env python3
"""Plots (and tabulates) the output of kuma-bench-xds --benchmark_format=json.

Run by hand, not by `make bench` (docs/benchmarks.md):

    taskset -c 1 build/bin/kuma-bench-xds --benchmark_out=bench.json --benchmark_out_format=json
    python3 bench/plot.py bench.json -o docs/benchmarks/xds_generation.png --table

With --benchmark_repetitions, the median aggregates are used; otherwise the single runs.
Needs matplotlib (Debian: python3-matplotlib) for the PNG only; --table alone does not.
"""

import argparse
import json
import re
import sys

UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}
MODES = ["outbounds", "tp_reachable", "tp_all"]
MODE_LABELS = {
    "outbounds": "3 explicit outbounds",
    "tp_reachable": "transparent proxy, 3 reachableServices",
    "tp_all": "transparent proxy, every service VIP",
}
NAME = re.compile(r"^(?P<bench>[a-z_]+)(?:/(?P<mode>[a-z_]+))?(?:/services:(?P<services>\d+))?$")


def load(path):
    """Returns {(bench, mode, services): entry}; CPU times converted to seconds."""
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    entries = data.get("benchmarks", [])
    has_median = any(e.get("aggregate_name") == "median" for e in entries)
    out = {}
    for e in entries:
        if e.get("error_occurred"):
            print(f"warning: {e['name']} failed: {e.get('error_message')}", file=sys.stderr)
            continue
        if has_median and e.get("aggregate_name") != "median":
            continue
        m = NAME.match(e.get("run_name", e["name"]))
        if m is None:
            continue
        key = (m["bench"], m["mode"], int(m["services"]) if m["services"] else None)
        entry = dict(e)
        entry["cpu_s"] = e["cpu_time"] * UNIT_SECONDS[e.get("time_unit", "ns")]
        out[key] = entry
    return data.get("context", {}), out


def series(results, bench, mode, field):
    points = sorted(
        (services, r[field])
        for (b, m, services), r in results.items()
        if b == bench and m == mode and services is not None and field in r
    )
    return [p[0] for p in points], [p[1] for p in points]


def fmt_time(seconds):
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def table(results):
    """Markdown tables of the run, in the layout of docs/benchmarks.md."""
    lines = []
    sizes = sorted({s for (_, _, s) in results if s is not None})
    lines.append("| services | Dataplanes | mesh context build | per Dataplane |")
    lines.append("|---:|---:|---:|---:|")
    for s in sizes:
        r = results.get(("mesh_context_build", None, s))
        if r:
            lines.append(f"| {s} | {int(r['dataplanes'])} | {fmt_time(r['cpu_s'])} | "
                         f"{fmt_time(r['per_dataplane'])} |")
    lines.append("")
    lines.append("| outbounds | services | generate (1 proxy, warm) | resources | bytes/proxy | "
                 "L / C / CLA | versionSnapshot unchanged | whole mesh, per proxy (cold) | "
                 "whole mesh | unique bytes/proxy |")
    lines.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for mode in MODES:
        for s in sizes:
            g = results.get(("generate_proxy", mode, s))
            if not g:
                continue
            v = results.get(("version_snapshot_unchanged", mode, s))
            m = results.get(("generate_mesh", mode, s))
            cells = [
                mode,
                str(s),
                fmt_time(g["cpu_s"]),
                str(int(g["resources"])),
                f"{int(g['bytes_per_proxy']):,}",
                f"{int(g['listeners'])} / {int(g['clusters'])} / {int(g['endpoints'])}",
                fmt_time(v["cpu_s"]) if v else "—",
                fmt_time(m["per_proxy"]) if m else "—",
                fmt_time(m["cpu_s"]) if m else "—",
                f"{int(m['unique_bytes_per_proxy']):,}" if m else "—",
            ]
            lines.append("| " + " | ".join(cells) + " |")
    h = results.get(("hash_of", "cluster", None))
    if h:
        lines.append("")
        lines.append(f"hashOf of a {int(h['cluster_bytes'])}-byte cluster: "
                     f"{fmt_time(h['cpu_s'])} ({h['bytes_per_second'] / 1e9:.2f} GB/s)")
    return "\n".join(lines)


def plot(results, context, output):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(16, 4.8))
    colors = {"outbounds": "tab:blue", "tp_reachable": "tab:green", "tp_all": "tab:red"}

    ax = axes[0]
    xs, ys = series(results, "mesh_context_build", None, "cpu_s")
    ax.plot(xs, [y * 1e3 for y in ys], "o-", color="tab:purple")
    ax.set_title("Mesh context build\n(loadMeshResources + MeshContext::build)")
    ax.set_xlabel("services (2 Dataplanes each)")
    ax.set_ylabel("CPU time (ms)")

    ax = axes[1]
    for mode in MODES:
        xs, ys = series(results, "generate_proxy", mode, "cpu_s")
        ax.plot(xs, [y * 1e6 for y in ys], "o-", color=colors[mode],
                label=f"{mode}: 1 proxy, shared cache warm")
        xs, ys = series(results, "generate_mesh", mode, "per_proxy")
        if xs:
            ax.plot(xs, [y * 1e6 for y in ys], "s--", color=colors[mode],
                    label=f"{mode}: every proxy, amortized")
    ax.set_title("xds::generate, per proxy")
    ax.set_xlabel("services")
    ax.set_ylabel("CPU time per proxy (µs)")
    ax.legend(fontsize=7)

    ax = axes[2]
    for mode in MODES:
        xs, ys = series(results, "generate_proxy", mode, "bytes_per_proxy")
        ax.plot(xs, [y / 1024 for y in ys], "o-", color=colors[mode],
                label=f"{mode}: bytes per proxy")
        xs, ys = series(results, "generate_mesh", mode, "unique_bytes_per_proxy")
        if xs:
            ax.plot(xs, [y / 1024 for y in ys], "s--", color=colors[mode],
                    label=f"{mode}: distinct bytes per proxy (sharing)")
    ax.set_title("Serialized resources per proxy")
    ax.set_xlabel("services")
    ax.set_ylabel("KiB")
    ax.legend(fontsize=7)

    for ax in axes:
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.grid(True, which="both", alpha=0.3)
    host = context.get("host_name", "")
    cpus = context.get("num_cpus", "?")
    mhz = context.get("mhz_per_cpu", "?")
    fig.suptitle(f"kuma-cpp xDS microbenchmarks ({context.get('date', '')}, {cpus} CPUs @ {mhz} MHz"
                 f"{', ' + host if host else ''}; pinned to one core)", fontsize=9)
    fig.tight_layout()
    fig.savefig(output, dpi=110)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("json", help="output of --benchmark_out_format=json")
    parser.add_argument("-o", "--output", help="PNG to write")
    parser.add_argument("--table", action="store_true", help="print Markdown tables")
    args = parser.parse_args()
    context, results = load(args.json)
    if not results:
        sys.exit(f"{args.json}: no benchmark results")
    if args.table:
        print(table(results))
    if args.output:
        plot(results, context, args.output)


if __name__ == "__main__":
    main()
