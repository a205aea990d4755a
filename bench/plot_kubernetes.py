#!/usr/bin/env python3
"""Plot and table of bench/kubernetes_pods.py's results.

    /usr/bin/python3 bench/plot_kubernetes.py docs/bench-results/kubernetes-pods-full.json \
        -o docs/benchmarks/kubernetes_pods.png          # PNG, needs matplotlib
    python3 bench/plot_kubernetes.py docs/bench-results/kubernetes-pods-full.json --table

The PNG has four panels: Dataplanes created over time (every run), the pod controller's
work-queue depth over time, Dataplanes/s per run, and the queue-wait / work p50 and p99 per run
(log scale). Matplotlib: Debian's python3-matplotlib (with pyenv on the path, /usr/bin/python3).
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kubernetes_pods import table  # noqa: E402 - one definition of the table


def label(r):
    size = f", {r['pods']} Pods" if r.get("size") not in (None, "full") else ""
    who = "" if r["control_plane"] == "kuma-cpp" else f"{r['control_plane']}: "
    return f"{who}pc {r['pod_controller']}, qps {r['qps']}/{r['burst_qps']}{size}"


def plot(doc, png):
    import matplotlib  # noqa: PLC0415
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    runs = [r for r in doc["results"] if "queue" in r]
    fig, ax = plt.subplots(2, 2, figsize=(14, 10))
    (a, b), (c, d) = ax
    for r in runs:
        xs = [p[0] for p in r["dataplane_curve"]]
        ys = [p[1] for p in r["dataplane_curve"]]
        style = "--" if r["control_plane"] != "kuma-cpp" else "-"
        a.plot(xs, ys, style, label=label(r))
        tl = [row for row in r["timeline"] if row.get("depth") is not None]
        b.plot([row["t"] for row in tl], [row["depth"] for row in tl], style, label=label(r))
    a.set_title("Dataplanes created (from the loader's first request)")
    a.set_xlabel("seconds")
    a.set_ylabel("Dataplanes")
    a.legend(fontsize=8)
    a.grid(alpha=0.3)
    b.set_title("pod controller work-queue depth (workqueue_depth, scraped every 1 s)")
    b.set_xlabel("seconds")
    b.set_ylabel("keys waiting")
    b.legend(fontsize=8)
    b.grid(alpha=0.3)

    names = [label(r).replace(", qps", "\nqps") for r in runs]
    rate = [r["dataplanes_per_s"] for r in runs]
    bars = c.bar(range(len(runs)), rate, color=["C%d" % i for i in range(len(runs))])
    for bar, v in zip(bars, rate):
        c.text(bar.get_x() + bar.get_width() / 2, v, f"{v:.1f}", ha="center", va="bottom",
               fontsize=8)
    c.set_xticks(range(len(runs)))
    c.set_xticklabels(names, fontsize=7)
    c.set_title("Dataplane creation throughput (Pods / time until the last Dataplane)")
    c.set_ylabel("Dataplanes / s")
    c.grid(axis="y", alpha=0.3)

    width = 0.2
    series = [("queue p50", "workqueue_queue_duration_seconds", "p50_s"),
              ("queue p99", "workqueue_queue_duration_seconds", "p99_s"),
              ("work p50", "workqueue_work_duration_seconds", "p50_s"),
              ("work p99", "workqueue_work_duration_seconds", "p99_s")]
    for i, (name, h, q) in enumerate(series):
        vals = [r["queue"][h][q] or 1e-6 for r in runs]
        d.bar([x + (i - 1.5) * width for x in range(len(runs))], vals, width, label=name)
    d.set_yscale("log")
    d.set_xticks(range(len(runs)))
    d.set_xticklabels(names, fontsize=7)
    d.set_title("pod controller: time waiting in the queue / reconcile time (histogram quantiles)")
    d.set_ylabel("seconds (log)")
    d.legend(fontsize=8)
    d.grid(axis="y", alpha=0.3)
    fig.suptitle(f"kuma-cp pod controller against kube-apiserver: {doc['command']}", fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    os.makedirs(os.path.dirname(os.path.abspath(png)), exist_ok=True)
    fig.savefig(png, dpi=90)
    print(f"plot: {png}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("results", nargs="+", help="kubernetes-pods-<size>.json (several: merged)")
    ap.add_argument("-o", "--out", help="PNG to write")
    ap.add_argument("--table", action="store_true")
    args = ap.parse_args()
    doc = None
    for path in args.results:
        with open(path, encoding="utf-8") as f:
            d = json.load(f)
        if doc is None:
            doc = d
        else:
            doc["results"] += d["results"]
            doc["command"] += " + " + d["command"]
    if args.table:
        print("\n".join(table(doc["results"])))
    if args.out:
        plot(doc, args.out)


if __name__ == "__main__":
    main()
