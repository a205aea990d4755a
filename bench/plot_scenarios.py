#!/usr/bin/env python3
"""Tables and plots of the scale scenarios' raw results (bench/scenarios.py output).

    python3 bench/plot_scenarios.py --table                       # markdown, stdlib only
    /usr/bin/python3 bench/plot_scenarios.py -o docs/benchmarks   # PNGs, needs matplotlib

Reads docs/bench-results/S*-*.json (every size present) and writes
    scale_cpu_rss.png      kuma-cp RSS and CPU against connected dataplanes (S1, S2, S3)
    scale_latency.png      distribution (CDF) of the S4 policy-change and S5 EDS latencies
Matplotlib comes from Debian's python3-matplotlib (tools/setup.sh); with pyenv on the path,
call /usr/bin/python3.
"""

import argparse
import glob
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load(results_dir):
    out = []
    for path in sorted(glob.glob(os.path.join(results_dir, "S*-*.json"))):
        with open(path, encoding="utf-8") as f:
            out.append(json.load(f))
    return out


def by_scenario(results, scenario):
    return sorted((r for r in results if r["scenario"] == scenario),
                  key=lambda r: r["dataplanes"])


def fmt(v, digits=1):
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:,.{digits}f}"
    return f"{v:,}"


def table(results):
    lines = ["| scenario | size | dataplanes | services | complete | ttfc p50 / p99 / max (ms) | "
             "kuma-cp RSS (MiB) | RSS / proxy (KiB) | figure |",
             "|---|---|---:|---:|---:|---|---:|---:|---|"]
    for r in sorted(results, key=lambda r: (r["scenario"], r["dataplanes"])):
        t = r["ttfc_ms"]
        sc = r["scenario"]
        if sc in ("S1", "S2"):
            fig = f"ramp CPU {fmt(r.get('cp_cpu_s_ramp'), 2)} s"
            if r.get("cp_cpu_s_per_1000_proxies") is not None:
                fig += f" ({fmt(r['cp_cpu_s_per_1000_proxies'], 2)} s / 1000 proxies)"
        elif sc == "S3":
            fig = (f"idle CPU {fmt(r.get('idle_cpu_percent_of_core'), 2)} % of a core, "
                   f"{fmt(r.get('idle_bytes_per_minute'))} B/min sent")
        elif sc == "S4":
            lf = r["latency_first_ms"]
            fig = (f"{r['changes']} changes: latency p50 {fmt(lf['p50'])} / p99 {fmt(lf['p99'])} "
                   f"/ max {fmt(lf['max'])} ms, missed {r['missed']}")
        elif sc == "S5":
            le = r["latency_eds_ms"]
            fig = (f"{r['ops']} ops at {fmt(r['churn_rate_per_s'], 0)}/s: EDS p50 {fmt(le['p50'])}"
                   f" / p99 {fmt(le['p99'])} / max {fmt(le['max'])} ms, CPU "
                   f"{fmt(r.get('churn_cpu_percent_of_core'))} %")
        elif sc == "S6":
            fig = (f"all complete {fmt(r['all_complete_again_after_ready_ms'])} ms after kuma-cp "
                   f"ready ({fmt(r['restart']['cp_ready_after_stop_ms'])} ms stop→ready), "
                   f"not recovered {r['not_recovered']}")
        else:
            fig = ""
        rss = r.get("cp_rss_kb_end")
        lines.append(
            f"| {sc} {r['name']} | {r['size']} | {fmt(r['dataplanes'])} | {fmt(r['services'])} | "
            f"{fmt(r.get('complete'))} | {fmt(t['p50'])} / {fmt(t['p99'])} / {fmt(t['max'])} | "
            f"{fmt(rss / 1024 if rss else None)} | {fmt(r.get('cp_rss_kb_per_proxy'))} | {fig} |")
    return "\n".join(lines)


def cdf(ax, samples, label):
    v = sorted(samples)
    if not v:
        return
    ax.plot(v, [(i + 1) / len(v) for i in range(len(v))], label=label)


def plots(results, out_dir):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    os.makedirs(out_dir, exist_ok=True)
    fig, (ax_rss, ax_cpu) = plt.subplots(1, 2, figsize=(11, 4))
    for sc, label in (("S1", "S1 ramp, 3 reachable services"),
                      ("S2", "S2 full mesh (2 per service)"),
                      ("S3", "S3 idle")):
        rs = [r for r in by_scenario(results, sc) if r.get("cp_rss_kb_end")]
        if not rs:
            continue
        xs = [r["dataplanes"] for r in rs]
        ax_rss.plot(xs, [r["cp_rss_kb_end"] / 1024 for r in rs], marker="o", label=label)
        key = "idle_cpu_s" if sc == "S3" else "cp_cpu_s_ramp"
        pts = [(r["dataplanes"], r[key]) for r in rs if r.get(key) is not None]
        if pts:
            ax_cpu.plot([p[0] for p in pts], [p[1] for p in pts], marker="o",
                        label=label + (" (CPU s over the idle window)" if sc == "S3"
                                       else " (CPU s until all complete)"))
    for ax, title, unit in ((ax_rss, "kuma-cp RSS", "MiB"), (ax_cpu, "kuma-cp CPU", "seconds")):
        ax.set_xlabel("connected dataplanes")
        ax.set_ylabel(unit)
        ax.set_title(title)
        ax.grid(True, alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
    fig.tight_layout()
    path = os.path.join(out_dir, "scale_cpu_rss.png")
    fig.savefig(path, dpi=110)
    print(f"wrote {path}")

    fig, (ax4, ax5) = plt.subplots(1, 2, figsize=(11, 4))
    for r in by_scenario(results, "S4"):
        cdf(ax4, r.get("latency_samples_ms", []), f"{r['dataplanes']} dataplanes")
    for r in by_scenario(results, "S5"):
        cdf(ax5, r.get("latency_samples_ms", []), f"{r['dataplanes']} dataplanes")
    for ax, title in ((ax4, "S4 MeshTimeout change → first new config (per proxy)"),
                      (ax5, "S5 endpoint churn → EDS update (per affected proxy)")):
        ax.set_xlabel("latency (ms)")
        ax.set_ylabel("fraction of proxies")
        ax.set_title(title, fontsize=9)
        ax.grid(True, alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
    fig.tight_layout()
    path = os.path.join(out_dir, "scale_latency.png")
    fig.savefig(path, dpi=110)
    print(f"wrote {path}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--results", default=os.path.join(ROOT, "docs", "bench-results"))
    ap.add_argument("-o", "--out-dir", help="write the PNGs here (needs matplotlib)")
    ap.add_argument("--table", action="store_true", help="print the markdown table")
    args = ap.parse_args()
    results = load(args.results)
    if not results:
        print(f"no results in {args.results}", file=sys.stderr)
        return 1
    if args.table or not args.out_dir:
        print(table(results))
    if args.out_dir:
        plots(results, args.out_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
