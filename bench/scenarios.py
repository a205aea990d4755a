#!/usr/bin/env python3
"""Scale scenarios for kuma-cp, driven with kuma-xds-load (docs/benchmarks.md, "Scale scenarios").

Each scenario starts its own kuma-cp (pinned to core 0, memory store, dataplane authn none) and
kuma-xds-load (pinned to core 1), samples kuma-cp's CPU time and RSS from /proc every 200 ms,
scrapes the diagnostics /metrics at the end and writes

    docs/bench-results/<scenario>-<size>.json   summary, derived per-proxy figures, metrics
    docs/bench-results/<scenario>-<size>.csv    the /proc samples (kuma-cp and the generator)

then prints a summary table with the command that produced it. With `--baseline-cp PATH` (a
Kuma 2.14 `kuma-cp`, built outside this repo: ../shared/spec/deps-notes.md, Appendix B) every
scenario runs a second time, with the same load, against that binary; its results go to
`<scenario>-<size>-baseline.{json,csv}` and a side-by-side table with the ratios follows.

    S1 ramp          N proxies, S services, 3 reachable services each, opened over a ramp-up
    S2 full mesh     S services x 2 proxies, transparent proxying without reachableServices
    S3 idle          N connected, nothing changes, refresh interval 1s: CPU and bytes per minute
    S4 policy        PUT the mesh-wide MeshTimeout at T: per-proxy latency of the new config
    S5 churn         Dataplanes created/deleted over REST at a fixed rate: EDS propagation latency
    S6 reconnect     kuma-cp restarted with N proxies connected: time until all are complete again

    python3 bench/scenarios.py --scenario all --size small            # what `make bench-scenarios` runs
    python3 bench/scenarios.py --scenario S1 --size large --dataplanes 10000
    python3 bench/scenarios.py --scenario S1,S3,S4 --size small --baseline-cp $ORACLE/bin/kuma-cp

Standard library only.
"""

import argparse
import csv
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

from portable import portable_command, portable_path  # noqa: E402 - bench/

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024

# (dataplanes, services) per size; S2 uses services x 2 dataplanes.
SIZES = {
    "small": {"dataplanes": 100, "services": 50, "s2_services": 50, "ramp": 5.0, "idle": 20.0,
              "changes": 5, "churn_seconds": 20.0, "churn_rate": 5.0},
    "medium": {"dataplanes": 1000, "services": 500, "s2_services": 500, "ramp": 10.0,
               "idle": 60.0, "changes": 10, "churn_seconds": 60.0, "churn_rate": 10.0},
    "large": {"dataplanes": 5000, "services": 2000, "s2_services": 1000, "ramp": 30.0,
              "idle": 60.0, "changes": 10, "churn_seconds": 60.0, "churn_rate": 10.0},
    "xlarge": {"dataplanes": 10000, "services": 2000, "s2_services": 1000, "ramp": 60.0,
               "idle": 60.0, "changes": 10, "churn_seconds": 60.0, "churn_rate": 10.0},
}
SCENARIOS = ["S1", "S2", "S3", "S4", "S5", "S6"]
NAMES = {"S1": "ramp", "S2": "full-mesh", "S3": "idle", "S4": "policy-change",
         "S5": "endpoint-churn", "S6": "reconnect-storm"}


def portable_load_command(bench):
    """The generator's command line with the binary relative to the checkout and the run's
    temporary work dir as <workdir>, so committed results name no path of this machine."""
    args = [os.path.relpath(bench.load_cmd[3], ROOT)] + bench.load_cmd[4:]
    return " ".join(a.replace(bench.work, "<workdir>") for a in args)


def now_ms():
    return time.time() * 1000.0


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentiles(values):
    """p50 / p99 / max (nearest rank) and count of a list of numbers."""
    if not values:
        return {"n": 0, "p50": None, "p99": None, "max": None}
    v = sorted(values)

    def rank(p):
        k = max(1, -(-len(v) * p // 100))  # ceil
        return v[min(len(v), int(k)) - 1]
    return {"n": len(v), "p50": round(rank(50), 3), "p99": round(rank(99), 3),
            "max": round(v[-1], 3)}


def proc_sample(pid):
    """(cpu seconds, rss KiB) of a live process, or None."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        cpu = (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime
        with open(f"/proc/{pid}/statm", encoding="ascii") as f:
            rss = int(f.read().split()[1]) * PAGE_KB
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
        return cpu, rss
    except (OSError, IndexError, ValueError):
        return None


class Sampler(threading.Thread):
    """Samples kuma-cp's and the generator's CPU time and RSS every 200 ms."""

    def __init__(self, bench):
        super().__init__(daemon=True)
        self.bench = bench
        self.rows = []  # (epoch_ms, cp_cpu_s, cp_rss_kb, load_cpu_s, load_rss_kb)
        self.stop_event = threading.Event()

    def run(self):
        while not self.stop_event.is_set():
            cp = self.bench.cp.pid if self.bench.cp and self.bench.cp.poll() is None else None
            ld = self.bench.load.pid if self.bench.load and self.bench.load.poll() is None else None
            a = proc_sample(cp) if cp else None
            b = proc_sample(ld) if ld else None
            self.rows.append((round(now_ms(), 1), a[0] if a else None, a[1] if a else None,
                              b[0] if b else None, b[1] if b else None))
            self.stop_event.wait(0.2)

    def cp_window(self, t0_ms, t1_ms):
        """kuma-cp CPU seconds used between two times (same process throughout)."""
        rows = [r for r in self.rows if t0_ms <= r[0] <= t1_ms and r[1] is not None]
        if len(rows) < 2:
            return None
        return rows[-1][1] - rows[0][1], (rows[-1][0] - rows[0][0]) / 1000.0

    def max_rss(self, column=2):
        vals = [r[column] for r in self.rows if r[column] is not None]
        return max(vals) if vals else None

    def last(self, column):
        vals = [r[column] for r in self.rows if r[column] is not None]
        return vals[-1] if vals else None


class Bench:
    """One scenario run: kuma-cp, the load generator, the sampler, the results."""

    def __init__(self, args, scenario, cp_path=None, label="kuma-cpp"):
        self.args = args
        self.scenario = scenario
        self.label = label
        self.size = dict(SIZES[args.size])
        self.bin = os.path.join(os.path.abspath(args.build_dir), "bin")
        self.cp_path = os.path.abspath(cp_path) if cp_path else os.path.join(self.bin, "kuma-cp")
        self.work = tempfile.mkdtemp(prefix=f"kuma-bench-{scenario}-")
        self.ports = {k: free_port() for k in ("dp", "api", "https", "diag", "intercp")}
        self.cp = None
        self.cp_log = None
        self.load = None
        self.progress = {}
        self.lines = []
        self.sampler = Sampler(self)
        self.events = {}

    # --- kuma-cp -------------------------------------------------------------------------------
    def cp_env(self, extra=None):
        env = dict(os.environ)
        env.update({
            "KUMA_DP_SERVER_AUTHN_DP_PROXY_TYPE": "none",
            "KUMA_GENERAL_WORK_DIR": self.work,
            "KUMA_DP_SERVER_PORT": str(self.ports["dp"]),
            "KUMA_API_SERVER_HTTP_PORT": str(self.ports["api"]),
            "KUMA_API_SERVER_HTTP_INTERFACE": "127.0.0.1",
            "KUMA_API_SERVER_HTTPS_PORT": str(self.ports["https"]),
            "KUMA_DIAGNOSTICS_SERVER_PORT": str(self.ports["diag"]),
            "KUMA_INTER_CP_SERVER_PORT": str(self.ports["intercp"]),
        })
        env.update(extra or {})
        return env

    def start_cp(self, extra_env=None):
        self.cp_log = open(os.path.join(self.work, "kuma-cp.log"), "ab")
        cmd = ["taskset", "-c", self.args.cp_core, self.cp_path, "run"]
        self.cp = subprocess.Popen(cmd, env=self.cp_env(extra_env), stdout=self.cp_log,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.cp.poll() is not None:
                raise RuntimeError(f"kuma-cp exited with {self.cp.returncode}; log in {self.work}")
            if self.http("GET", "diag", "/ready")[0] == 200 and \
                    self.http("GET", "api", "/meshes/default")[0] == 200:
                return
            time.sleep(0.1)
        raise RuntimeError(f"kuma-cp not ready after 60s; log in {self.work}")

    def stop_cp(self, sig=signal.SIGTERM):
        if self.cp and self.cp.poll() is None:
            self.cp.send_signal(sig)
            try:
                self.cp.wait(30)
            except subprocess.TimeoutExpired:
                self.cp.kill()
                self.cp.wait()
        if self.cp_log:
            self.cp_log.close()
            self.cp_log = None

    def http(self, method, port, path, body=None):
        url = f"http://127.0.0.1:{self.ports[port]}{path}"
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(url, data=data, method=method,
                                     headers={"content-type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=10) as res:
                return res.status, res.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode("utf-8", "replace")
        except (urllib.error.URLError, OSError) as e:
            return 0, str(e)

    # --- kuma-xds-load -------------------------------------------------------------------------
    def start_load(self, dataplanes, services, extra):
        self.load_json = os.path.join(self.work, "load.json")
        cmd = ["taskset", "-c", self.args.load_core, os.path.join(self.bin, "kuma-xds-load"),
               "--cp-address", f"127.0.0.1:{self.ports['dp']}",
               "--ca-cert-file", os.path.join(self.work, "kuma-cp.crt"),
               "--dataplanes", str(dataplanes), "--services", str(services),
               "--protocol", self.args.protocol, "--output-json", self.load_json,
               "--progress-interval-ms", "500", "--timeout", f"{int(self.args.timeout)}s",
               "--summary"] + extra
        self.load_cmd = cmd
        self.load = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, text=True)
        threading.Thread(target=self._read_load, daemon=True).start()

    def _read_load(self):
        for line in self.load.stdout:
            self.lines.append(line.rstrip("\n"))
            words = line.split()
            if words and words[0] in ("progress", "all-complete", "final"):
                fields = dict(w.split("=", 1) for w in words[1:] if "=" in w)
                self.progress = fields
                if words[0] == "all-complete":
                    self.events.setdefault("all_complete_ms", float(fields["epoch_ms"]))

    def wait_for(self, predicate, timeout, what):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if predicate():
                return True
            if self.load and self.load.poll() is not None:
                raise RuntimeError(f"kuma-xds-load exited early:\n" + "\n".join(self.lines[-20:]))
            time.sleep(0.05)
        print(f"warning: timed out waiting for {what}", file=sys.stderr)
        return False

    def complete_now(self):
        return int(self.progress.get("complete_now", 0))

    def stop_load(self):
        if self.load and self.load.poll() is None:
            self.load.send_signal(signal.SIGTERM)
            self.load.wait(120)
        with open(self.load_json, encoding="utf-8") as f:
            return json.load(f)

    # --- results -------------------------------------------------------------------------------
    def metrics(self):
        code, text = self.http("GET", "diag", "/metrics")
        if code != 200:
            return {}
        out = {}
        for line in text.splitlines():
            # Histogram buckets left out: sums and counts are enough here.
            if line and not line.startswith("#") and "_bucket{" not in line:
                name, _, value = line.rpartition(" ")
                try:
                    out[name] = float(value)
                except ValueError:
                    pass
        return out

    def write(self, result):
        out_dir = os.path.abspath(self.args.out_dir)
        os.makedirs(out_dir, exist_ok=True)
        suffix = "" if self.label == "kuma-cpp" else f"-{self.label}"
        base = os.path.join(out_dir, f"{self.scenario}-{self.args.size}{suffix}")
        with open(base + ".csv", "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(["epoch_ms", "cp_cpu_s", "cp_rss_kb", "load_cpu_s", "load_rss_kb"])
            w.writerows(self.sampler.rows)
        with open(base + ".json", "w", encoding="utf-8") as f:
            json.dump(result, f, indent=1, sort_keys=True)
            f.write("\n")
        return base


def machine():
    info = {"nproc": os.cpu_count(), "platform": platform.platform()}
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo", encoding="ascii") as f:
            info["mem_total_kb"] = int(f.readline().split()[1])
        info["loadavg_at_start"] = open("/proc/loadavg", encoding="ascii").read().split()[:3]
    except OSError:
        pass
    return info


def timeline_changes(proxy, kinds=("CDS", "LDS", "EDS", "RDS")):
    return [(e[0], e[1]) for e in proxy["timeline"] if e[1] in kinds]


def first_after(proxy, t_ms, kinds, before_ms=None):
    """{type: first version-change time after t_ms} for the given types."""
    out = {}
    for t, kind in timeline_changes(proxy, kinds):
        if t > t_ms and (before_ms is None or t < before_ms) and kind not in out:
            out[kind] = t
    return out


# --- scenarios ---------------------------------------------------------------------------------

def base_result(bench, dataplanes, services, load_report):
    s = bench.sampler
    summary = load_report["summary"]
    rss = s.last(2)
    base_rss = bench.events.get("cp_rss_kb_baseline")
    return {
        "scenario": bench.scenario, "name": NAMES[bench.scenario], "size": bench.args.size,
        "command": portable_command(),
        "load_command": portable_load_command(bench),
        "pinning": f"kuma-cp taskset -c {bench.args.cp_core}, "
                   f"kuma-xds-load taskset -c {bench.args.load_core}",
        "protocol": bench.args.protocol, "machine": machine(),
        "dataplanes": dataplanes, "services": services,
        "load_summary": summary,
        "ttfc_ms": percentiles([p["ttfc_ms"] for p in load_report["proxies"]
                                if p["ttfc_ms"] is not None]),
        "cp_rss_kb_end": rss, "cp_rss_kb_max": s.max_rss(2),
        "cp_rss_kb_baseline": base_rss,
        "cp_rss_kb_per_proxy": round((rss - base_rss) / dataplanes, 2) if rss and base_rss
        else None,
        "cp_cpu_s_total": s.last(1),
        "load_rss_kb_max": s.max_rss(4),
        "cp_metrics": bench.metrics(),
    }


def run_connected(bench, dataplanes, services, extra, cp_env=None, ramp=None):
    """Starts kuma-cp and N proxies and waits until every proxy is complete."""
    bench.start_cp(cp_env)
    bench.sampler.start()
    time.sleep(1.0)  # kuma-cp's RSS before any proxy: the per-proxy figure excludes it
    bench.events["cp_rss_kb_baseline"] = bench.sampler.last(2)
    ramp = bench.size["ramp"] if ramp is None else ramp
    bench.events["load_start_ms"] = now_ms()
    bench.start_load(dataplanes, services, ["--ramp-up", f"{ramp}s"] + extra)
    bench.wait_for(lambda: "all_complete_ms" in bench.events, bench.args.timeout,
                   "every proxy complete")


def s1(bench, d, s):
    extra = ["--reachable-services", "3"]
    run_connected(bench, d, s, extra)
    time.sleep(bench.args.hold)  # steady state: RSS after the ramp
    report = bench.stop_load()
    r = base_result(bench, d, s, report)
    window = bench.sampler.cp_window(bench.events["load_start_ms"],
                                     bench.events.get("all_complete_ms", now_ms()))
    if window:
        r["cp_cpu_s_ramp"] = round(window[0], 3)
        r["cp_cpu_s_per_1000_proxies"] = round(window[0] / d * 1000, 3)
    return r, report


def s2(bench, d, s):
    run_connected(bench, d, s, ["--transparent-proxy"])
    time.sleep(bench.args.hold)
    report = bench.stop_load()
    r = base_result(bench, d, s, report)
    window = bench.sampler.cp_window(bench.events["load_start_ms"],
                                     bench.events.get("all_complete_ms", now_ms()))
    if window:
        r["cp_cpu_s_ramp"] = round(window[0], 3)
    return r, report


def s3(bench, d, s):
    env = {"KUMA_XDS_SERVER_DATAPLANE_CONFIGURATION_REFRESH_INTERVAL": "1s"}
    run_connected(bench, d, s, ["--reachable-services", "3"], cp_env=env)
    time.sleep(5)  # let the last registrations settle
    b0, t0 = int(bench.progress.get("bytes", 0)), now_ms()
    time.sleep(bench.size["idle"])
    b1, t1 = int(bench.progress.get("bytes", 0)), now_ms()
    report = bench.stop_load()
    r = base_result(bench, d, s, report)
    window = bench.sampler.cp_window(t0, t1)
    minutes = (t1 - t0) / 60000.0
    if window:
        r["idle_cpu_s"] = round(window[0], 3)
        r["idle_window_s"] = round(window[1], 1)
        r["idle_cpu_percent_of_core"] = round(100.0 * window[0] / window[1], 2)
    r["idle_bytes_per_minute"] = round((b1 - b0) / minutes) if minutes > 0 else None
    r["refresh_interval"] = "1s"
    return r, report


def meshtimeout(default, request_timeout_s):
    """The mesh's default MeshTimeout as the control plane created it (fetched, not written out
    here: the defaults have one definition, in the product), with its outbound request timeout
    (and connect timeout, so that clusters change too) set for one policy change."""
    policy = {k: default[k] for k in ("type", "mesh", "name", "spec")}
    to = policy["spec"]["to"][0]["default"]
    to["connectionTimeout"] = f"{5 + request_timeout_s % 2}s"
    to.setdefault("http", {})["requestTimeout"] = f"{request_timeout_s}s"
    return policy


def s4(bench, d, s):
    run_connected(bench, d, s, ["--reachable-services", "3"])
    time.sleep(3)
    path = "/meshes/default/meshtimeouts/mesh-timeout-all-default"
    code, body = bench.http("GET", "api", path)
    if code != 200:
        raise RuntimeError(f"GET the default MeshTimeout: {code} {body}")
    default = json.loads(body)
    changes = []
    for i in range(bench.size["changes"]):
        t = now_ms()
        code, body = bench.http("PUT", "api", path, meshtimeout(default, 16 + i))
        if code not in (200, 201):
            raise RuntimeError(f"PUT MeshTimeout: {code} {body}")
        changes.append(t)
        time.sleep(bench.args.change_gap)
    report = bench.stop_load()
    r = base_result(bench, d, s, report)
    first, full, missed = [], [], 0
    affected = ("CDS", "LDS")  # connect timeout (clusters), route timeout (listeners)
    for i, t in enumerate(changes):
        nxt = changes[i + 1] if i + 1 < len(changes) else None
        for p in report["proxies"]:
            got = first_after(p, t, affected, nxt)
            if not got:
                missed += 1
                continue
            first.append(min(got.values()) - t)
            full.append(max(got.values()) - t)
    r["changes"] = len(changes)
    r["latency_first_ms"] = percentiles(first)
    r["latency_all_types_ms"] = percentiles(full)
    r["latency_samples_ms"] = [round(x, 3) for x in first]
    r["missed"] = missed
    return r, report


def churn_dataplane(k, services, digits):
    svc = f"svc-{k % services:0{digits}d}"
    n = 200000 + k
    return svc, {"type": "Dataplane", "mesh": "default", "name": f"churn-{k}",
                 "networking": {"address": f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}",
                                "inbound": [{"port": 8080, "tags": {"kuma.io/service": svc,
                                                                    "kuma.io/protocol": "http"}}]}}


def s5(bench, d, s):
    run_connected(bench, d, s, ["--reachable-services", "3"])
    time.sleep(3)
    digits = max(4, len(str(s - 1)))
    rate, seconds, keep = bench.size["churn_rate"], bench.size["churn_seconds"], 10
    ops, live, k = [], [], 0
    t_start = now_ms()
    next_at = time.time()
    while time.time() - t_start / 1000.0 < seconds:
        if len(live) >= keep:
            name, svc = live.pop(0)
            t = now_ms()
            code, body = bench.http("DELETE", "api", f"/meshes/default/dataplanes/{name}")
            ops.append({"t": t, "op": "delete", "service": svc, "code": code})
        else:
            svc, dp = churn_dataplane(k, s, digits)
            t = now_ms()
            code, body = bench.http("PUT", "api", f"/meshes/default/dataplanes/churn-{k}", dp)
            ops.append({"t": t, "op": "create", "service": svc, "code": code})
            live.append((f"churn-{k}", svc))
            k += 1
        next_at += 1.0 / rate
        time.sleep(max(0.0, next_at - time.time()))
    t_end = now_ms()
    time.sleep(3)
    report = bench.stop_load()
    r = base_result(bench, d, s, report)
    lat, missed = [], 0
    by_service = {}
    for p in report["proxies"]:
        for svc in p["destinations"]:
            by_service.setdefault(svc, []).append(p)
    for i, op in enumerate(ops):
        for p in by_service.get(op["service"], []):
            got = first_after(p, op["t"], ("EDS",))
            if got:
                lat.append(got["EDS"] - op["t"])
            else:
                missed += 1
    window = bench.sampler.cp_window(t_start, t_end)
    r["ops"] = len(ops)
    r["op_errors"] = sum(1 for o in ops if o["code"] not in (200, 201))
    r["churn_rate_per_s"] = rate
    r["latency_eds_ms"] = percentiles(lat)
    r["latency_samples_ms"] = [round(x, 3) for x in lat]
    r["missed"] = missed
    if window:
        r["churn_cpu_percent_of_core"] = round(100.0 * window[0] / window[1], 2)
    return r, report


def s6(bench, d, s):
    run_connected(bench, d, s, ["--reachable-services", "3"])
    time.sleep(3)
    t_stop = now_ms()
    bench.stop_cp()
    t_down = now_ms()
    bench.start_cp()
    t_ready = now_ms()
    # complete_now counts proxies complete on their current stream: wait for all again.
    bench.wait_for(lambda: bench.complete_now() >= d and int(bench.progress.get("epoch_ms", 0))
                   > t_ready, bench.args.timeout, "every proxy complete after the restart")
    time.sleep(1)
    report = bench.stop_load()
    r = base_result(bench, d, s, report)
    after = []
    missing = 0
    for p in report["proxies"]:
        ts = [e[0] for e in p["timeline"] if e[1] == "complete" and e[0] > t_stop]
        if ts:
            after.append(ts[0])
        else:
            missing += 1
    r["restart"] = {"stop_ms": t_stop, "down_ms": round(t_down - t_stop, 1),
                    "cp_ready_after_stop_ms": round(t_ready - t_stop, 1)}
    r["recovery_from_stop_ms"] = percentiles([t - t_stop for t in after])
    r["recovery_from_ready_ms"] = percentiles([t - t_ready for t in after])
    r["all_complete_again_after_ready_ms"] = round(max(after) - t_ready, 1) if after else None
    r["not_recovered"] = missing
    return r, report


RUNNERS = {"S1": s1, "S2": s2, "S3": s3, "S4": s4, "S5": s5, "S6": s6}


def headline(r):
    sc = r["scenario"]
    if sc in ("S1", "S2"):
        return (f"ttfc p50/p99/max {r['ttfc_ms']['p50']}/{r['ttfc_ms']['p99']}/"
                f"{r['ttfc_ms']['max']} ms, ramp CPU {r.get('cp_cpu_s_ramp')} s")
    if sc == "S3":
        return (f"idle CPU {r.get('idle_cpu_percent_of_core')} % of a core, "
                f"{r.get('idle_bytes_per_minute')} B/min")
    if sc == "S4":
        lf = r["latency_first_ms"]
        return f"latency p50/p99/max {lf['p50']}/{lf['p99']}/{lf['max']} ms, missed {r['missed']}"
    if sc == "S5":
        le = r["latency_eds_ms"]
        return (f"EDS latency p50/p99/max {le['p50']}/{le['p99']}/{le['max']} ms over "
                f"{r['ops']} ops, missed {r['missed']}")
    if sc == "S6":
        return (f"all complete {r['all_complete_again_after_ready_ms']} ms after kuma-cp ready "
                f"({r['restart']['cp_ready_after_stop_ms']} ms stop->ready), "
                f"not recovered {r['not_recovered']}")
    return ""


# The figures compared side by side: (scenario, label, path in the result, lower is better).
COMPARED = [
    ("S1", "ramp CPU s", ("cp_cpu_s_ramp",)),
    ("S1", "time to first config p50 ms", ("ttfc_ms", "p50")),
    ("S1", "time to first config p99 ms", ("ttfc_ms", "p99")),
    ("S1", "RSS KiB per proxy", ("cp_rss_kb_per_proxy",)),
    ("S2", "RSS KiB per proxy", ("cp_rss_kb_per_proxy",)),
    ("S3", "idle CPU % of a core", ("idle_cpu_percent_of_core",)),
    ("S4", "policy change p50 ms", ("latency_first_ms", "p50")),
    ("S4", "policy change p99 ms", ("latency_first_ms", "p99")),
    ("S5", "EDS latency p99 ms", ("latency_eds_ms", "p99")),
    ("S6", "all complete after ready ms", ("all_complete_again_after_ready_ms",)),
]


def figure(result, path):
    value = result
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value if isinstance(value, (int, float)) else None


def side_by_side(results, baseline_label):
    """Markdown rows: figure, kuma-cpp, the baseline, baseline / kuma-cpp."""
    rows = [f"| scenario | figure | kuma-cpp | {baseline_label} | {baseline_label} ÷ kuma-cpp |",
            "|---|---|---:|---:|---:|"]
    for sc, name, path in COMPARED:
        ours = figure(results.get((sc, "kuma-cpp"), {}), path)
        theirs = figure(results.get((sc, baseline_label), {}), path)
        if ours is None and theirs is None:
            continue
        ratio = f"{theirs / ours:.1f}×" if ours and theirs is not None else ""
        rows.append(f"| {sc} | {name} | {'' if ours is None else ours} | "
                    f"{'' if theirs is None else theirs} | {ratio} |")
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--scenario", default="all", help="S1..S6 or all (comma list allowed)")
    ap.add_argument("--size", default="small", choices=sorted(SIZES))
    ap.add_argument("--dataplanes", type=int, help="override the size's dataplanes")
    ap.add_argument("--services", type=int, help="override the size's services")
    ap.add_argument("--protocol", default="sotw", choices=["sotw", "delta"])
    ap.add_argument("--build-dir", default=os.path.join(ROOT, "build"))
    ap.add_argument("--out-dir", default=os.path.join(ROOT, "docs", "bench-results"))
    ap.add_argument("--cp-core", default="0")
    ap.add_argument("--load-core", default="1")
    ap.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for complete")
    ap.add_argument("--hold", type=float, default=5.0, help="S1/S2: seconds held after complete")
    ap.add_argument("--change-gap", type=float, default=3.0, help="S4: seconds between changes")
    ap.add_argument("--baseline-cp", help="a Kuma 2.14 kuma-cp binary: run every scenario against "
                                          "it too, with the same load, and compare")
    ap.add_argument("--baseline-label", default="baseline",
                    help="name of the baseline in file names and tables")
    args = ap.parse_args()
    wanted = SCENARIOS if args.scenario == "all" else [x.strip().upper()
                                                       for x in args.scenario.split(",")]
    for sc in wanted:
        if sc not in RUNNERS:
            ap.error(f"unknown scenario {sc}")
    for tool in ("kuma-cp", "kuma-xds-load"):
        if not os.access(os.path.join(args.build_dir, "bin", tool), os.X_OK):
            ap.error(f"{tool} not found in {args.build_dir}/bin (build it first)")

    if args.baseline_cp and not os.access(args.baseline_cp, os.X_OK):
        ap.error(f"--baseline-cp {args.baseline_cp} is not an executable")
    targets = [("kuma-cpp", None)]
    if args.baseline_cp:
        targets.append((args.baseline_label, args.baseline_cp))

    rows, failed, results = [], False, {}
    for sc, (label, cp_path) in [(sc, t) for sc in wanted for t in targets]:
        bench = Bench(args, sc, cp_path, label)
        size = bench.size
        if sc == "S2":
            s = args.services or size["s2_services"]
            d = args.dataplanes or 2 * s
        else:
            d = args.dataplanes or size["dataplanes"]
            s = args.services or size["services"]
        print(f"== {sc} {NAMES[sc]} on {label} ({args.size}: {d} dataplanes, {s} services, "
              f"{args.protocol}) work dir {bench.work}", flush=True)
        try:
            result, report = RUNNERS[sc](bench, d, s)
            result["complete"] = report["summary"]["complete"]
            result["control_plane"] = {"label": label, "binary": portable_path(bench.cp_path)}
            base = bench.write(result)
            results[(sc, label)] = result
            rows.append((sc, NAMES[sc], label, d, s, result["complete"],
                         result["cp_rss_kb_end"], result["cp_rss_kb_per_proxy"],
                         headline(result)))
            print(f"   -> {os.path.relpath(base, ROOT)}.json/.csv", flush=True)
            succeeded = True
        except Exception as e:  # noqa: BLE001 - report and go on with the next scenario
            failed = True
            succeeded = False
            print(f"   {sc} failed: {e} (logs kept in {bench.work})", file=sys.stderr, flush=True)
        finally:
            bench.sampler.stop_event.set()
            if bench.load and bench.load.poll() is None:
                bench.load.kill()
            bench.stop_cp()
        if succeeded:  # the results are written; only a failed run keeps its logs
            shutil.rmtree(bench.work, ignore_errors=True)

    print()
    print("Command: " + portable_command())
    print(f"kuma-cp pinned to core {args.cp_core}, kuma-xds-load to core {args.load_core}; "
          f"memory store; KUMA_DP_SERVER_AUTHN_DP_PROXY_TYPE=none")
    hdr = ("scenario", "name", "control plane", "dataplanes", "services", "complete",
           "cp RSS KiB", "KiB/proxy", "result")
    print("| " + " | ".join(hdr) + " |")
    print("|" + "---|" * len(hdr))
    for row in rows:
        print("| " + " | ".join("" if v is None else str(v) for v in row) + " |")
    if args.baseline_cp:
        print()
        print("\n".join(side_by_side(results, args.baseline_label)))
    return 1 if failed or len(rows) != len(wanted) * len(targets) else 0


if __name__ == "__main__":
    sys.exit(main())
