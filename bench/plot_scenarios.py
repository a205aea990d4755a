#!/usr/bin/env python3
"""Tables and plots of the scale scenarios' raw results (bench/scenarios.py output).

    python3 bench/plot_scenarios.py --table                       # markdown, stdlib only
    /usr/bin/python3 bench/plot_scenarios.py -o docs/benchmarks   # PNGs, needs matplotlib

Reads docs/bench-results/S*-*.json (every size present) and writes
    scale_cpu_rss.png      kuma-cp RSS and CPU against connected dataplanes (S1, S2, S3)
    scale_latency.png      distribution (CDF) of the S4 policy-change and S5 EDS latencies
    side_by_side_<size>.png  for every size run with --baseline-cp: kuma-cpp and the baseline's
                           CPU and RSS over the S1 ramp, and their S4 and S5 latency CDFs
`--table` prints kuma-cpp's table and, per size with a baseline, the side-by-side table
(the figures of bench/scenarios.py's COMPARED list and the ratio baseline ÷ kuma-cpp).
Matplotlib comes from Debian's python3-matplotlib (tools/setup.sh); with pyenv on the path,
call /usr/bin/python3.
"""

import argparse
import csv
import glob
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from scenarios import side_by_side  # noqa: E402 - one definition of the compared figures

OURS = "kuma-cpp"
SIZE_ORDER = ["small", "medium", "large", "xlarge"]


def label_of(result):
    return (result.get("control_plane") or {}).get("label", OURS)


def load(results_dir):
    """Every result, with `_csv` (its /proc samples) and `_label` (the control plane) added."""
    out = []
    for path in sorted(glob.glob(os.path.join(results_dir, "S*-*.json"))):
        with open(path, encoding="utf-8") as f:
            r = json.load(f)
        r["_csv"] = path[:-len(".json")] + ".csv"
        r["_label"] = label_of(r)
        out.append(r)
    return out


def baselines(results):
    """{size: baseline label} for every size that has results of a second control plane."""
    out = {}
    for r in results:
        if r["_label"] != OURS:
            out.setdefault(r["size"], r["_label"])
    return dict(sorted(out.items(), key=lambda kv: SIZE_ORDER.index(kv[0])
                       if kv[0] in SIZE_ORDER else len(SIZE_ORDER)))


def side_by_side_tables(results):
    """Per size with a baseline: its heading line and bench/scenarios.py's side-by-side rows."""
    blocks = []
    for size, label in baselines(results).items():
        at_size = {(r["scenario"], r["_label"]): r for r in results if r["size"] == size}
        ours = [r for (sc, lb), r in at_size.items() if lb == OURS]
        n = ours[0]["dataplanes"] if ours else "?"
        blocks.append(f"**{size}** ({n} dataplanes)\n\n" + "\n".join(side_by_side(at_size, label)))
    return "\n\n".join(blocks)


def samples(result):
    """(seconds since the first sample, kuma-cp CPU s, kuma-cp RSS MiB) from the result's CSV."""
    t, cpu, rss = [], [], []
    try:
        with open(result["_csv"], encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
    except OSError:
        return t, cpu, rss
    rows = [row for row in rows if row.get("cp_cpu_s") and row.get("cp_rss_kb")]
    if not rows:
        return t, cpu, rss
    t0, c0 = float(rows[0]["epoch_ms"]), float(rows[0]["cp_cpu_s"])
    for row in rows:
        t.append((float(row["epoch_ms"]) - t0) / 1000)
        cpu.append(float(row["cp_cpu_s"]) - c0)
        rss.append(float(row["cp_rss_kb"]) / 1024)
    return t, cpu, rss


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
    results = [r for r in results if r["_label"] == OURS]
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


def cdf(ax, samples, label, color=None):
    v = sorted(samples)
    if not v:
        return
    ax.plot(v, [(i + 1) / len(v) for i in range(len(v))], label=label, color=color)


def plots(all_results, out_dir):
    results = [r for r in all_results if r["_label"] == OURS]
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
    side_by_side_plots(all_results, out_dir, plt)


def side_by_side_plots(results, out_dir, plt):
    for size, label in baselines(results).items():
        at_size = [r for r in results if r["size"] == size]
        fig, ((ax_cpu, ax_rss), (ax4, ax5)) = plt.subplots(2, 2, figsize=(11, 8))
        for r in at_size:
            name = r["_label"]
            color = "tab:orange" if name == OURS else "tab:blue"  # the same in every plot
            if r["scenario"] == "S1":
                t, cpu, rss = samples(r)
                ax_cpu.plot(t, cpu, label=name, color=color)
                ax_rss.plot(t, rss, label=name, color=color)
            elif r["scenario"] == "S4":
                cdf(ax4, r.get("latency_samples_ms", []), name, color)
            elif r["scenario"] == "S5":
                cdf(ax5, r.get("latency_samples_ms", []), name, color)
        n = next((r["dataplanes"] for r in at_size if r["scenario"] == "S1"), "?")
        for ax, title, xlabel, ylabel in (
                (ax_cpu, f"S1 ramp of {n} proxies: kuma-cp CPU", "seconds", "CPU seconds"),
                (ax_rss, f"S1 ramp of {n} proxies: kuma-cp RSS", "seconds", "MiB"),
                (ax4, "S4 MeshTimeout change → new config (per proxy)", "latency (ms, log)",
                 "fraction of proxies"),
                (ax5, "S5 endpoint churn → EDS update (per proxy)", "latency (ms, log)",
                 "fraction of proxies")):
            ax.set_title(title, fontsize=9)
            ax.set_xlabel(xlabel)
            ax.set_ylabel(ylabel)
            ax.grid(True, alpha=0.3)
            if ax.get_legend_handles_labels()[0]:
                ax.legend(fontsize=8)
                if ax in (ax4, ax5):
                    ax.set_xscale("log")
        fig.suptitle(f"kuma-cpp and {label}, same load ({size}), one core each", fontsize=10)
        fig.tight_layout()
        path = os.path.join(out_dir, f"side_by_side_{size}.png")
        fig.savefig(path, dpi=110)
        plt.close(fig)
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
        sbs = side_by_side_tables(results)
        if sbs:
            print(sbs + "\n")
        print(table(results))
    if args.out_dir:
        plots(results, args.out_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
