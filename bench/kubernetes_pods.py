#!/usr/bin/env python3
"""Pod controller benchmark against a real kube-apiserver (docs/benchmarks.md, "Kubernetes: pod
controller concurrency and client throttling (issue 17)").

Per configuration (`podController` workers, client `qps`/`burstQps`): a fresh etcd and
kube-apiserver on loopback (as test/test_common/kube_apiserver.cc: own CA, serving certificate,
service-account key, a static admin token; `--disable-admission-plugins=ServiceAccount`), Kuma's
CRDs, NS namespaces labelled `kuma.io/sidecar-injection: enabled`, S Services (already carrying
the two ingress upstream annotations, so the service controller writes nothing), then kuma-cp
in Kubernetes mode with the configuration under test. Once kuma-cp is ready and Mesh `default`
exists, the loader creates P Pods (2 per Service, annotated `kuma.io/sidecar-injected: "true"`,
with an `app` and a `kuma-sidecar` container) and right after each create sets its status
(phase Running, podIP, Ready condition, ready container statuses) through `pods/<name>/status`,
as a kubelet would, from a pool of keep-alive HTTPS connections. A watch on
`dataplanes.kuma.io` records when each Dataplane appears.

Measured: time from the loader's first request until all P Dataplanes exist, Dataplanes/s,
per-Pod latency (status patch answered → Dataplane ADDED on the watch), the pod controller's
`workqueue_queue_duration_seconds` / `workqueue_work_duration_seconds` p50/p99 (from the
histogram buckets, difference of the scrapes before and after the load), reconciles, requests
and throttled requests / seconds of kuma-cp's Kubernetes client, kuma-cp CPU seconds and peak
RSS (VmHWM), the CPU of kube-apiserver and etcd. kuma-cp is pinned to core 0 (`taskset -c 0`),
etcd, kube-apiserver and the loader to core 1.

    python3 bench/kubernetes_pods.py --size small                 # quick run / smoke (~5 min)
    python3 bench/kubernetes_pods.py --size full                  # 2000 Services / 4000 Pods
    python3 bench/kubernetes_pods.py --size small --only pc10-q100 --baseline-cp $ORACLE/bin/kuma-cp

Writes <out>/kubernetes-pods-<size>.json (every run: summary, metrics timeline, per-Pod
latencies) and, with matplotlib (Debian's python3-matplotlib: /usr/bin/python3), the PNG of
bench/plot_kubernetes.py; prints the table with the command line. Every port is in 28xxx.
Standard library only (plus openssl, taskset).
"""

import argparse
import concurrent.futures
import http.client
import json
import os
import platform
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

from portable import portable_command, portable_path  # noqa: E402 - bench/

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLK_TCK = os.sysconf("SC_CLK_TCK")

SIZES = {
    "tiny": {"services": 20, "pods": 40, "namespaces": 2},
    "small": {"services": 200, "pods": 400, "namespaces": 10},
    "medium": {"services": 1000, "pods": 2000, "namespaces": 20},
    "full": {"services": 2000, "pods": 4000, "namespaces": 20},
}
# id -> (podController, qps, burstQps). The matrix of issue 17.
CONFIGS = {
    "pc1-q100": (1, 100, 100),
    "pc10-q100": (10, 100, 100),
    "pc50-q100": (50, 100, 100),
    "pc10-q5": (10, 5, 10),
    "pc10-q500": (10, 500, 500),
}
PORTS = {  # everything this script starts listens in 28xxx
    "etcd": 28379, "etcd_peer": 28380, "apiserver": 28443,
    "cp_api": 28681, "cp_https": 28682, "cp_dp": 28678, "cp_diag": 28680, "cp_intercp": 28683,
    "cp_mads": 28676, "cp_kds": 28685, "cp_admission": 28444,
}
POD_CONTROLLER_RE = re.compile(r'(controller|name)="(kuma-)?pod-controller"')


def now():
    return time.time()


def port_free(port):
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT is no user
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


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


def proc_cpu(pid):
    """CPU seconds (user+system) of a live process, or None."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK
    except (OSError, IndexError, ValueError):
        return None


def proc_status(pid, key):
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return None


def core_busy():
    """Per-CPU (busy, total) jiffies from /proc/stat."""
    out = {}
    with open("/proc/stat", encoding="ascii") as f:
        for line in f:
            if line.startswith("cpu") and line[3].isdigit():
                parts = line.split()
                vals = [int(x) for x in parts[1:]]
                idle = vals[3] + vals[4]
                out[parts[0]] = (sum(vals) - idle, sum(vals))
    return out


def percentiles(values):
    if not values:
        return {"n": 0, "p50": None, "p90": None, "p99": None, "max": None}
    v = sorted(values)

    def rank(p):
        k = max(1, -(-len(v) * p // 100))
        return v[min(len(v), int(k)) - 1]
    return {"n": len(v), "p50": round(rank(50), 3), "p90": round(rank(90), 3),
            "p99": round(rank(99), 3), "max": round(v[-1], 3)}


# --- Prometheus text ------------------------------------------------------------------------------

def parse_metrics(text):
    """[(name, {label: value}, value)] of a Prometheus text exposition."""
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)', line)
        if not m:
            continue
        labels = dict(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', m.group(3) or ""))
        try:
            out.append((m.group(1), labels, float(m.group(4))))
        except ValueError:
            pass
    return out


def is_pod_controller(labels):
    return any(labels.get(k, "").endswith("pod-controller") for k in ("controller", "name"))


def metric_sum(samples, name, pred=lambda labels: True):
    vals = [v for n, labels, v in samples if n == name and pred(labels)]
    return sum(vals) if vals else None


def histogram(samples, name, pred=is_pod_controller):
    """{le: cumulative count} of one histogram (summed over matching series), plus count/sum."""
    buckets = {}
    for n, labels, v in samples:
        if n == name + "_bucket" and pred(labels):
            le = float("inf") if labels["le"] in ("+Inf", "Inf") else float(labels["le"])
            buckets[le] = buckets.get(le, 0.0) + v
    return {"buckets": buckets, "count": metric_sum(samples, name + "_count", pred) or 0.0,
            "sum": metric_sum(samples, name + "_sum", pred) or 0.0}


def histogram_delta(after, before):
    return {"buckets": {le: c - before["buckets"].get(le, 0.0) for le, c in after["buckets"].items()},
            "count": after["count"] - before["count"], "sum": after["sum"] - before["sum"]}


def histogram_quantile(q, h):
    """Prometheus' histogram_quantile (linear interpolation inside the bucket)."""
    les = sorted(h["buckets"])
    if not les:
        return None
    total = h["buckets"][les[-1]]
    if total <= 0:
        return None
    rank = q * total
    prev_le, prev_c = 0.0, 0.0
    for le in les:
        c = h["buckets"][le]
        if c >= rank:
            if le == float("inf"):
                return prev_le
            if c == prev_c:
                return le
            return prev_le + (le - prev_le) * (rank - prev_c) / (c - prev_c)
        prev_le, prev_c = le, c
    return les[-1]


# --- the Kubernetes API ---------------------------------------------------------------------------

class Cluster:
    """etcd + kube-apiserver on loopback, as the tests' KubeApiServer fixture starts them."""

    def __init__(self, args, work):
        self.args = args
        self.dir = os.path.join(work, "k8s")
        os.makedirs(os.path.join(self.dir, "certs"), exist_ok=True)
        self.etcd = self.apiserver = None
        self.host, self.port = "127.0.0.1", PORTS["apiserver"]

    def _openssl(self, *cmd):
        subprocess.run(["openssl"] + list(cmd), cwd=self.dir, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def start(self):
        d = self.dir
        self._openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key",
                      "-out", "ca.crt", "-days", "2", "-subj", "/O=kuma-cpp bench/CN=kuma-bench-ca",
                      "-addext", "basicConstraints=critical,CA:TRUE",
                      "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        self._openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "serving.key",
                      "-out", "serving.csr", "-subj", "/CN=kube-apiserver")
        with open(os.path.join(d, "serving.ext"), "w", encoding="ascii") as f:
            f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n"
                    "keyUsage=critical,digitalSignature,keyEncipherment\n")
        self._openssl("x509", "-req", "-in", "serving.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                      "-CAcreateserial", "-out", "serving.crt", "-days", "2",
                      "-extfile", "serving.ext")
        self._openssl("genrsa", "-out", "sa.key", "2048")
        self.token = os.urandom(16).hex()
        with open(os.path.join(d, "tokens.csv"), "w", encoding="ascii") as f:
            f.write(f'{self.token},kuma-bench-admin,kuma-bench-admin,"system:masters"\n')
        self.ca = os.path.join(d, "ca.crt")
        self.kubeconfig = os.path.join(d, "kubeconfig")
        with open(self.kubeconfig, "w", encoding="ascii") as f:
            f.write(f"apiVersion: v1\nkind: Config\nclusters:\n- name: bench\n  cluster:\n"
                    f"    server: https://{self.host}:{self.port}\n"
                    f"    certificate-authority: {self.ca}\nusers:\n- name: admin\n  user:\n"
                    f"    token: {self.token}\ncontexts:\n- name: bench\n  context:\n"
                    f"    cluster: bench\n    user: admin\ncurrent-context: bench\n")
        etcd_url = f"http://127.0.0.1:{PORTS['etcd']}"
        peer = f"http://127.0.0.1:{PORTS['etcd_peer']}"
        core = ["taskset", "-c", self.args.k8s_core]
        self.etcd_log = open(os.path.join(d, "etcd.log"), "ab")
        self.etcd = subprocess.Popen(
            core + [self.args.etcd, "--name", "kuma-bench", "--data-dir", os.path.join(d, "etcd"),
                    "--listen-client-urls", etcd_url, "--advertise-client-urls", etcd_url,
                    "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                    "--initial-cluster", "kuma-bench=" + peer, "--unsafe-no-fsync",
                    "--log-level", "warn"],
            stdout=self.etcd_log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = now() + 60
        while True:
            try:
                with urllib.request.urlopen(etcd_url + "/health", timeout=2) as r:
                    if b'"health":"true"' in r.read():
                        break
            except OSError:
                pass
            if self.etcd.poll() is not None or now() > deadline:
                raise RuntimeError("etcd did not start; log in " + d)
            time.sleep(0.2)
        self.api_log = open(os.path.join(d, "kube-apiserver.log"), "ab")
        self.apiserver = subprocess.Popen(
            core + [self.args.kube_apiserver, "--etcd-servers", etcd_url,
                    "--bind-address", self.host, "--secure-port", str(self.port),
                    "--tls-cert-file", os.path.join(d, "serving.crt"),
                    "--tls-private-key-file", os.path.join(d, "serving.key"),
                    "--client-ca-file", self.ca, "--cert-dir", os.path.join(d, "certs"),
                    "--service-account-issuer", "https://kubernetes.default.svc",
                    "--service-account-key-file", os.path.join(d, "sa.key"),
                    "--service-account-signing-key-file", os.path.join(d, "sa.key"),
                    "--token-auth-file", os.path.join(d, "tokens.csv"),
                    "--authorization-mode", "RBAC", "--service-cluster-ip-range", "10.96.0.0/16",
                    "--profiling=false", "--disable-admission-plugins=ServiceAccount"],
            stdout=self.api_log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.ssl = ssl.create_default_context(cafile=self.ca)
        deadline = now() + 120
        while True:
            try:
                if self.request("GET", "/readyz")[0] == 200:
                    break
            except OSError:
                pass
            if self.apiserver.poll() is not None or now() > deadline:
                raise RuntimeError("kube-apiserver did not become ready; log in " + d)
            time.sleep(0.2)

    def connection(self):
        return http.client.HTTPSConnection(self.host, self.port, context=self.ssl, timeout=60)

    def request(self, method, path, body=None, content_type="application/json", conn=None):
        """(status, parsed JSON or text) over `conn` (kept alive) or a new connection."""
        own = conn is None
        c = self.connection() if own else conn
        headers = {"Authorization": "Bearer " + self.token, "Accept": "application/json"}
        data = None
        if body is not None:
            data = body if isinstance(body, (bytes, str)) else json.dumps(body)
            headers["Content-Type"] = content_type
        try:
            c.request(method, path, body=data, headers=headers)
            r = c.getresponse()
            raw = r.read()
        finally:
            if own:
                c.close()
        try:
            return r.status, json.loads(raw)
        except ValueError:
            return r.status, raw.decode("utf-8", "replace")

    def stop(self):
        for p in (self.apiserver, self.etcd):
            if p and p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(20)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        for f in ("etcd_log", "api_log"):
            if getattr(self, f, None):
                getattr(self, f).close()


class Pool:
    """N threads, each with its own kept-alive HTTPS connection to the API server."""

    def __init__(self, cluster, n):
        self.cluster = cluster
        self.local = threading.local()
        self.executor = concurrent.futures.ThreadPoolExecutor(max_workers=n)

    def _call(self, method, path, body, content_type):
        for attempt in range(5):
            conn = getattr(self.local, "conn", None)
            if conn is None:
                conn = self.local.conn = self.cluster.connection()
            try:
                status, answer = self.cluster.request(method, path, body, content_type, conn)
            except (OSError, http.client.HTTPException):
                conn.close()
                self.local.conn = None
                time.sleep(0.1 * (attempt + 1))
                continue
            if status == 429 or status >= 500:
                time.sleep(0.1 * (attempt + 1))
                continue
            return status, answer, now()
        return 0, "gave up after 5 attempts", now()

    def submit(self, method, path, body=None, content_type="application/json"):
        return self.executor.submit(self._call, method, path, body, content_type)

    def run_all(self, requests):
        futures = [self.submit(*r) for r in requests]
        out = [f.result() for f in futures]
        bad = [(r[1], o[0], str(o[1])[:300]) for r, o in zip(requests, out)
               if o[0] not in (200, 201)]
        if bad:
            raise RuntimeError(f"{len(bad)} requests failed, first: {bad[0]}")
        return out

    def close(self):
        self.executor.shutdown(wait=True)


def install_crds(cluster, cp_binary, kumactl):
    """Kuma's CRDs from `kuma-cp install crds` (or Kuma's `kumactl install crds`), Established."""
    cmd = [kumactl, "install", "crds"] if kumactl else [cp_binary, "install", "crds"]
    text = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    docs = []
    yaml = None
    for chunk in re.split(r"^---\s*$", text, flags=re.M):
        if not chunk.strip():
            continue
        try:
            docs.append(json.loads(chunk))
            continue
        except ValueError:
            pass
        if yaml is None:
            yaml = _yaml_loader()
        doc = yaml(chunk)
        if doc:
            docs.append(doc)
    path = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
    names = []
    for doc in docs:
        status, answer = cluster.request("POST", path, doc)
        if status != 201:
            raise RuntimeError(f"CRD {doc['metadata']['name']}: {status} {str(answer)[:300]}")
        names.append(doc["metadata"]["name"])
    deadline = now() + 60
    for name in names:
        while True:
            status, crd = cluster.request("GET", f"{path}/{name}")
            conds = crd.get("status", {}).get("conditions", []) if status == 200 else []
            if any(c.get("type") == "Established" and c.get("status") == "True" for c in conds):
                break
            if now() > deadline:
                raise RuntimeError(f"CRD {name} not Established")
            time.sleep(0.1)
    return len(names)


def _yaml_loader():
    """YAML → object: PyYAML when the interpreter has it, else kuma-cp's own converter is not
    available, so ask a Python that has PyYAML (Debian's)."""
    try:
        import yaml  # noqa: PLC0415
        return lambda s: yaml.safe_load(s)
    except ImportError:
        def convert(s):
            out = subprocess.run(
                ["/usr/bin/python3", "-c",
                 "import sys, json, yaml; print(json.dumps(yaml.safe_load(sys.stdin.read())))"],
                input=s, capture_output=True, text=True, check=True).stdout
            return json.loads(out)
        return convert


# --- objects --------------------------------------------------------------------------------------

def ns_name(i):
    return f"bench-{i:02d}"


def service_of(k, namespaces):
    return ns_name(k % namespaces), f"svc-{k:04d}"


def service_body(name):
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "annotations": {
                # what Kuma's service controller would add: present, so it writes nothing
                "ingress.kubernetes.io/service-upstream": "true",
                "nginx.ingress.kubernetes.io/service-upstream": "true"}},
            "spec": {"selector": {"app": name},
                     "ports": [{"name": "http", "port": 80, "targetPort": "http",
                                "appProtocol": "http"}]}}


def pod_body(name, app):
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labels": {"app": app, "version": "v1"},
                         "annotations": {"kuma.io/sidecar-injected": "true"}},
            "spec": {"containers": [
                {"name": "app", "image": "bench/app:1",
                 "ports": [{"containerPort": 8080, "name": "http"}]},
                {"name": "kuma-sidecar", "image": "kumahq/kuma-dp:2.14.3"}]}}


def pod_status(ip):
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    running = {"running": {"startedAt": started}}
    return {"status": {
        "phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}], "hostIP": "10.0.0.1",
        "startTime": started,
        "conditions": [{"type": t, "status": "True", "lastTransitionTime": started}
                       for t in ("Initialized", "Ready", "ContainersReady", "PodScheduled")],
        "containerStatuses": [
            {"name": c, "ready": True, "started": True, "restartCount": 0, "image": img,
             "imageID": "", "state": running}
            for c, img in (("app", "bench/app:1"), ("kuma-sidecar", "kumahq/kuma-dp:2.14.3"))]}}


def pod_ip(n):
    n += 1
    return f"10.{64 + ((n >> 16) & 63)}.{(n >> 8) & 255}.{n & 255}"


# --- kuma-cp --------------------------------------------------------------------------------------

class ControlPlane:
    def __init__(self, args, work, cluster, label, binary, pc, qps, burst):
        self.args, self.work, self.cluster = args, work, cluster
        self.label, self.binary = label, binary
        self.pc, self.qps, self.burst = pc, qps, burst
        self.proc = None

    def env(self):
        env = dict(os.environ)
        workdir = os.path.join(self.work, "cp-work")
        certs = os.path.join(self.work, "admission-certs")
        os.makedirs(workdir, exist_ok=True)
        os.makedirs(certs, exist_ok=True)
        if not os.path.exists(os.path.join(certs, "tls.crt")):
            subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                            "-keyout", "tls.key", "-out", "tls.crt", "-days", "2", "-subj",
                            "/CN=kuma-control-plane.kuma-system.svc", "-addext",
                            "subjectAltName=DNS:kuma-control-plane.kuma-system.svc,"
                            "DNS:localhost,IP:127.0.0.1"],
                           cwd=certs, check=True, capture_output=True)
        env.update({
            "KUBECONFIG": self.cluster.kubeconfig,
            "KUMA_ENVIRONMENT": "kubernetes",
            "KUMA_STORE_TYPE": "kubernetes",
            "KUMA_STORE_KUBERNETES_SYSTEM_NAMESPACE": "kuma-system",
            "KUMA_GENERAL_WORK_DIR": workdir,
            "KUMA_API_SERVER_HTTP_PORT": str(PORTS["cp_api"]),
            "KUMA_API_SERVER_HTTP_INTERFACE": "127.0.0.1",
            "KUMA_API_SERVER_HTTPS_PORT": str(PORTS["cp_https"]),
            "KUMA_DP_SERVER_PORT": str(PORTS["cp_dp"]),
            "KUMA_DIAGNOSTICS_SERVER_PORT": str(PORTS["cp_diag"]),
            "KUMA_INTER_CP_SERVER_PORT": str(PORTS["cp_intercp"]),
            "KUMA_MONITORING_ASSIGNMENT_SERVER_PORT": str(PORTS["cp_mads"]),
            "KUMA_MULTIZONE_GLOBAL_KDS_GRPC_PORT": str(PORTS["cp_kds"]),
            "KUMA_RUNTIME_KUBERNETES_ADMISSION_SERVER_PORT": str(PORTS["cp_admission"]),
            "KUMA_RUNTIME_KUBERNETES_ADMISSION_SERVER_CERT_DIR": certs,
            "KUMA_REPORTS_ENABLED": "false",
            # Otherwise every /metrics scrape lists every type through the API server (kuma-cpp
            # counts resources at scrape time; with the Kubernetes store: ~45 LISTs, each taking
            # a qps token, the Dataplane list fetching all of them): the 1 s scrapes would eat
            # about half of qps 100.
            "KUMA_METRICS_CONTROL_PLANE_REPORT_RESOURCES_COUNT": "false",
            # Kuma 2.14's k8s plugin reads them at start (API-server bypass hook)
            "KUBERNETES_SERVICE_HOST": "127.0.0.1",
            "KUBERNETES_SERVICE_PORT": str(PORTS["apiserver"]),
            "KUMA_RUNTIME_KUBERNETES_CONTROLLERS_CONCURRENCY_POD_CONTROLLER": str(self.pc),
            "KUMA_RUNTIME_KUBERNETES_CLIENT_CONFIG_QPS": str(self.qps),
            "KUMA_RUNTIME_KUBERNETES_CLIENT_CONFIG_BURST_QPS": str(self.burst),
        })
        return env

    def start(self):
        self.log_path = os.path.join(self.work, f"kuma-cp-{self.label}.log")
        self.log = open(self.log_path, "ab")
        self.t_start = now()
        self.proc = subprocess.Popen(["taskset", "-c", self.args.cp_core, self.binary, "run"],
                                     env=self.env(), stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        deadline = now() + 180
        while now() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"kuma-cp exited with {self.proc.returncode}; "
                                   f"log {self.log_path}")
            if self.http("/ready", "cp_diag")[0] == 200 and \
                    self.cluster.request("GET", "/apis/kuma.io/v1alpha1/meshes/default")[0] == 200:
                self.ready_s = now() - self.t_start
                return
            time.sleep(0.2)
        raise RuntimeError(f"kuma-cp not ready (or no Mesh default) after 180 s; {self.log_path}")

    def http(self, path, port="cp_diag", timeout=10):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{PORTS[port]}{path}",
                                        timeout=timeout) as r:
                return r.status, r.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as e:
            return e.code, ""
        except OSError as e:
            return 0, str(e)

    def metrics(self):
        code, text = self.http("/metrics")
        return parse_metrics(text) if code == 200 else []

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if getattr(self, "log", None):
            self.log.close()


# --- one run --------------------------------------------------------------------------------------

class DataplaneWatch(threading.Thread):
    """Records the first ADDED time of each Dataplane (namespace/name) across namespaces."""

    def __init__(self, cluster):
        super().__init__(daemon=True)
        self.cluster = cluster
        self.added = {}
        self.deleted = 0
        self.modified = 0
        self.stopped = False
        self.error = None

    def run(self):
        path = "/apis/kuma.io/v1alpha1/dataplanes"
        try:
            status, lst = self.cluster.request("GET", path + "?limit=1")
            rv = lst["metadata"]["resourceVersion"]
            while not self.stopped:
                conn = self.cluster.connection()
                conn.timeout = None
                conn.request("GET", f"{path}?watch=1&resourceVersion={rv}&timeoutSeconds=3600"
                             "&allowWatchBookmarks=true",
                             headers={"Authorization": "Bearer " + self.cluster.token})
                r = conn.getresponse()
                for line in r:
                    if self.stopped:
                        break
                    ev = json.loads(line)
                    meta = ev["object"].get("metadata", {})
                    rv = meta.get("resourceVersion", rv)
                    key = f"{meta.get('namespace')}/{meta.get('name')}"
                    if ev["type"] == "ADDED":
                        self.added.setdefault(key, now())
                    elif ev["type"] == "DELETED":
                        self.deleted += 1
                    elif ev["type"] == "MODIFIED":
                        self.modified += 1
                conn.close()
        except Exception as e:  # noqa: BLE001 - reported in the result
            if not self.stopped:
                self.error = repr(e)


class Sampler(threading.Thread):
    """Every second: kuma-cp's metrics (queue depth, requests, throttling, reconciles), the CPU
    of kuma-cp / kube-apiserver / etcd, per-core busy %, and the Dataplane count."""

    def __init__(self, cp, cluster, watch, t0):
        super().__init__(daemon=True)
        self.cp, self.cluster, self.watch, self.t0 = cp, cluster, watch, t0
        self.rows = []
        self.stop_event = threading.Event()

    def run(self):
        last_cores = core_busy()
        while not self.stop_event.is_set():
            t = now()
            m = self.cp.metrics()
            cores = core_busy()
            busy = {c: round(100.0 * (cores[c][0] - last_cores[c][0]) /
                             max(1, cores[c][1] - last_cores[c][1]), 1) for c in cores}
            last_cores = cores
            self.rows.append({
                "t": round(t - self.t0, 2),
                "dataplanes": len(self.watch.added),
                "depth": metric_sum(m, "workqueue_depth", is_pod_controller),
                "reconciles": metric_sum(m, "controller_runtime_reconcile_total",
                                         is_pod_controller),
                "requests": metric_sum(m, "kube_client_requests_total"),
                "throttled": metric_sum(m, "kube_client_throttled_requests_total"),
                "throttled_s": metric_sum(m, "kube_client_throttled_seconds_total"),
                "cp_cpu_s": proc_cpu(self.cp.proc.pid),
                "apiserver_cpu_s": proc_cpu(self.cluster.apiserver.pid),
                "etcd_cpu_s": proc_cpu(self.cluster.etcd.pid),
                "cores_busy_pct": busy,
            })
            self.stop_event.wait(max(0.0, 1.0 - (now() - t)))


def run_one(args, cfg_id, label, binary, kumactl, size):
    pc, qps, burst = CONFIGS[cfg_id]
    S, P, NS = size["services"], size["pods"], size["namespaces"]
    work = tempfile.mkdtemp(prefix=f"kuma-bench-k8s-{cfg_id}-", dir=args.tmp_dir)
    print(f"== {label} {cfg_id}: podController={pc} qps={qps} burstQps={burst}, "
          f"{S} Services / {P} Pods in {NS} namespaces (work dir {work})", flush=True)
    cluster = Cluster(args, work)
    cp = None
    pool = None
    watch = None
    sampler = None
    ok = False
    result = {"config": cfg_id, "control_plane": label, "binary": "build/bin/kuma-cp (copied at start)"
              if "kuma-bench-k8s-bin-" in binary else portable_path(binary), "pod_controller": pc, "qps": qps,
              "burst_qps": burst, "services": S, "pods": P, "namespaces": NS}
    try:
        t = now()
        cluster.start()
        result["cluster_start_s"] = round(now() - t, 2)
        result["crds"] = install_crds(cluster, binary, kumactl)
        pool = Pool(cluster, args.loader_threads)
        reqs = [("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                "metadata": {"name": "kuma-system"}},
                 "application/json")]
        for i in range(NS):
            reqs.append(("POST", "/api/v1/namespaces", {
                "apiVersion": "v1", "kind": "Namespace",
                "metadata": {"name": ns_name(i),
                             "labels": {"kuma.io/sidecar-injection": "enabled"}}},
                "application/json"))
        pool.run_all(reqs)
        t = now()
        pool.run_all([("POST", f"/api/v1/namespaces/{ns}/services", service_body(name),
                       "application/json")
                      for ns, name in (service_of(k, NS) for k in range(S))])
        result["services_created_s"] = round(now() - t, 2)

        cp = ControlPlane(args, work, cluster, label, binary, pc, qps, burst)
        cp.start()
        result["cp_ready_s"] = round(cp.ready_s, 2)
        watch = DataplaneWatch(cluster)
        watch.start()
        time.sleep(args.settle)  # startup work (default resources, informers' first lists) done
        before = cp.metrics()
        cp_cpu0 = proc_cpu(cp.proc.pid)
        api_cpu0, etcd_cpu0 = proc_cpu(cluster.apiserver.pid), proc_cpu(cluster.etcd.pid)

        t0 = now()
        sampler = Sampler(cp, cluster, watch, t0)
        sampler.start()
        patched = {}

        def one_pod(k):
            svc = k // 2
            ns, app = service_of(svc % S, NS)
            name = f"{app}-{'ab'[k % 2]}"
            f1 = pool._call("POST", f"/api/v1/namespaces/{ns}/pods", pod_body(name, app),
                            "application/json")
            if f1[0] != 201:
                return f"{ns}/{name}", f1[0], str(f1[1])[:300]
            f2 = pool._call("PATCH", f"/api/v1/namespaces/{ns}/pods/{name}/status",
                            pod_status(pod_ip(k)), "application/merge-patch+json")
            patched[f"{ns}/{name}"] = f2[2]
            return f"{ns}/{name}", f2[0], "" if f2[0] == 200 else str(f2[1])[:300]

        futures = [pool.executor.submit(one_pod, k) for k in range(P)]
        answers = [f.result() for f in futures]
        t_loaded = now()
        bad = [a for a in answers if a[1] not in (200, 201)]
        result["loader"] = {"threads": args.loader_threads, "seconds": round(t_loaded - t0, 2),
                            "pods_per_s": round(P / (t_loaded - t0), 1),
                            "requests_per_s": round(2 * P / (t_loaded - t0), 1),
                            "failed": len(bad), "first_failure": bad[0] if bad else None}
        print(f"   loader: {P} Pods created + status patched in {t_loaded - t0:.1f} s "
              f"({P / (t_loaded - t0):.0f} Pods/s, {len(bad)} failed)", flush=True)
        deadline = now() + args.timeout
        while len(watch.added) < P and now() < deadline and cp.proc.poll() is None:
            time.sleep(0.05)
        t_all = now()
        complete = len(watch.added) >= P
        # the queue drains (status patches queued after a create reconcile once more)
        drain_deadline = now() + 60
        while now() < drain_deadline:
            m = cp.metrics()
            if (metric_sum(m, "workqueue_depth", is_pod_controller) or 0) == 0:
                break
            time.sleep(0.5)
        time.sleep(1.5)
        after = cp.metrics()
        sampler.stop_event.set()
        sampler.join()
        t_end = now()
        times = sorted(watch.added.values())
        dp_elapsed = (times[-1] - t0) if complete else None
        lat = [watch.added[k] - t for k, t in patched.items() if k in watch.added]

        def delta(name, pred=lambda labels: True):
            a, b = metric_sum(after, name, pred), metric_sum(before, name, pred)
            return None if a is None else round(a - (b or 0.0), 3)

        hq = {}
        for h in ("workqueue_queue_duration_seconds", "workqueue_work_duration_seconds",
                  "controller_runtime_reconcile_time_seconds"):
            d = histogram_delta(histogram(after, h), histogram(before, h))
            hq[h] = {"count": d["count"],
                     "mean_s": round(d["sum"] / d["count"], 6) if d["count"] else None,
                     "p50_s": _r(histogram_quantile(0.5, d)),
                     "p99_s": _r(histogram_quantile(0.99, d))}
        reconciles = {}
        for n, labels, v in after:
            if n == "controller_runtime_reconcile_total" and is_pod_controller(labels):
                b = metric_sum(before, n, lambda l2, r=labels.get("result"):
                               is_pod_controller(l2) and l2.get("result") == r) or 0.0
                reconciles[labels.get("result", "?")] = v - b
        requests = delta("kube_client_requests_total")
        result.update({
            "complete": complete,
            "dataplanes": len(watch.added),
            "dataplanes_deleted_events": watch.deleted,
            "dataplanes_modified_events": watch.modified,
            "watch_error": watch.error,
            "seconds_to_all_dataplanes": _r(dp_elapsed, 2),
            "dataplanes_per_s": round(P / dp_elapsed, 2) if dp_elapsed else
            round(len(watch.added) / (t_all - t0), 2),
            "pod_latency_s": percentiles(lat),
            "queue": hq,
            "reconciles": reconciles,
            "reconcile_errors": delta("controller_runtime_reconcile_errors_total",
                                      is_pod_controller),
            "workqueue_retries": delta("workqueue_retries_total", is_pod_controller),
            "workqueue_adds": delta("workqueue_adds_total", is_pod_controller),
            "max_depth": max((r["depth"] or 0) for r in sampler.rows) if sampler.rows else None,
            "kube_client_requests": requests,
            "kube_client_requests_per_dataplane": round(requests / P, 2) if requests else None,
            "kube_client_throttled_requests": delta("kube_client_throttled_requests_total"),
            "kube_client_throttled_seconds": delta("kube_client_throttled_seconds_total"),
            "rest_client_rate_limiter_seconds": delta("rest_client_rate_limiter_duration_seconds_sum"),
            "rest_client_requests": delta("rest_client_requests_total"),
            "cp_cpu_s": _r(proc_cpu(cp.proc.pid) - cp_cpu0, 2),
            "cp_cpu_s_per_1000_dataplanes": _r((proc_cpu(cp.proc.pid) - cp_cpu0) / P * 1000, 2),
            "cp_peak_rss_mib": _r((proc_status(cp.proc.pid, "VmHWM") or 0) / 1024, 1),
            "cp_rss_end_mib": _r((proc_status(cp.proc.pid, "VmRSS") or 0) / 1024, 1),
            "apiserver_cpu_s": _r(proc_cpu(cluster.apiserver.pid) - api_cpu0, 2),
            "etcd_cpu_s": _r(proc_cpu(cluster.etcd.pid) - etcd_cpu0, 2),
            "window_s": round(t_end - t0, 2),
            "dataplane_curve": _curve(times, t0),
            "timeline": sampler.rows,
        })
        result["log"] = scan_log(cp.log_path)
        ok = complete
        print(f"   {len(watch.added)}/{P} Dataplanes in {_r(dp_elapsed, 1)} s = "
              f"{result['dataplanes_per_s']} /s; queue p50/p99 "
              f"{hq['workqueue_queue_duration_seconds']['p50_s']}/"
              f"{hq['workqueue_queue_duration_seconds']['p99_s']} s; requests {requests}, "
              f"throttled {result['kube_client_throttled_requests']} "
              f"({result['kube_client_throttled_seconds']} s); cp CPU {result['cp_cpu_s']} s",
              flush=True)
    finally:
        if sampler:
            sampler.stop_event.set()
        if watch:
            watch.stopped = True
        if cp:
            cp.stop()
            if args.keep_logs_dir and os.path.exists(cp.log_path):
                os.makedirs(args.keep_logs_dir, exist_ok=True)
                shutil.copy(cp.log_path, os.path.join(
                    args.keep_logs_dir, f"kuma-cp-{label}-{cfg_id}-{args.size}.log"))
        if pool:
            pool.executor.shutdown(wait=False, cancel_futures=True)
        cluster.stop()
        if ok or not args.keep_failed:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"   (logs kept in {work})", flush=True)
    return result


def _r(v, digits=6):
    return None if v is None else round(v, digits)


def _curve(times, t0, points=200):
    """[(seconds since t0, Dataplanes)] thinned to about `points` points."""
    if not times:
        return []
    step = max(1, len(times) // points)
    out = [(round(t - t0, 3), i + 1) for i, t in enumerate(times) if i % step == 0]
    out.append((round(times[-1] - t0, 3), len(times)))
    return out


def scan_log(path):
    """Counts of kuma-cp log lines by level, and the first warning/error lines."""
    counts, firsts = {}, []
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                low = line.lower()
                level = None
                for lv in ("error", "warn", "fail"):
                    if re.search(r"\b" + lv, low):
                        level = lv
                        break
                if level:
                    counts[level] = counts.get(level, 0) + 1
                    if len(firsts) < 20:
                        firsts.append(line.rstrip()[:400])
    except OSError:
        pass
    return {"counts": counts, "first_lines": firsts}


# --- output ---------------------------------------------------------------------------------------

def table(results):
    hdr = ["control plane", "podController", "qps/burst", "Pods", "all Dataplanes (s)",
           "Dataplanes/s", "Pod→DP p50/p99 (s)", "queue mean / p50 / p99 (s)",
           "work mean / p50 / p99 (s)",
           "requests/DP", "throttled (req / s)", "kuma-cp CPU (s)", "peak RSS (MiB)",
           "apiserver+etcd CPU (s)", "loader Pods/s"]
    rows = ["| " + " | ".join(hdr) + " |", "|" + "---|" * len(hdr)]
    for r in results:
        if "queue" not in r:
            rows.append(f"| {r['control_plane']} | {r['pod_controller']} | "
                        f"{r['qps']}/{r['burst_qps']} | {r['pods']} | failed: "
                        f"{r.get('error', '')[:80]} |" + " |" * (len(hdr) - 5))
            continue
        q, w = r["queue"]["workqueue_queue_duration_seconds"], \
            r["queue"]["workqueue_work_duration_seconds"]
        lat = r["pod_latency_s"]
        rows.append("| " + " | ".join(str(x) for x in [
            r["control_plane"], r["pod_controller"], f"{r['qps']}/{r['burst_qps']}",
            r["pods"],
            r["seconds_to_all_dataplanes"] if r["complete"] else
            f"incomplete: {r['dataplanes']}/{r['pods']}",
            r["dataplanes_per_s"], f"{lat['p50']} / {lat['p99']}",
            f"{_fmt(q['mean_s'])} / {_fmt(q['p50_s'])} / {_fmt(q['p99_s'])}",
            f"{_fmt(w['mean_s'])} / {_fmt(w['p50_s'])} / {_fmt(w['p99_s'])}",
            r["kube_client_requests_per_dataplane"],
            f"{_fmt(r['kube_client_throttled_requests'])} / "
            f"{_fmt(r['kube_client_throttled_seconds'])}",
            r["cp_cpu_s"], r["cp_peak_rss_mib"],
            _r((r["apiserver_cpu_s"] or 0) + (r["etcd_cpu_s"] or 0), 1),
            r["loader"]["pods_per_s"]]) + " |")
    return rows


def _fmt(v):
    if v is None:
        return "–"
    if isinstance(v, float) and v < 0.01:
        return f"{v:.4f}"
    if isinstance(v, float):
        return f"{v:.3g}" if v < 100 else f"{v:.0f}"
    return str(v)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--size", default="small", choices=sorted(SIZES))
    ap.add_argument("--only", help="comma list of configurations (default: all): "
                                   + ", ".join(CONFIGS))
    ap.add_argument("--small-for", default="pc10-q5",
                    help="configurations run at --size small whatever --size is (qps 5 at 4000 "
                         "Pods needs >45 min); empty: none")
    ap.add_argument("--build-dir", default=os.path.join(ROOT, "build"))
    ap.add_argument("--etcd", help="default: <build-dir>/deps/k8s/etcd")
    ap.add_argument("--kube-apiserver", help="default: <build-dir>/deps/k8s/kube-apiserver")
    ap.add_argument("--baseline-cp", help="Kuma 2.14's kuma-cp: run pc10-q100 against it too")
    ap.add_argument("--baseline-kumactl", help="Kuma's kumactl for its CRDs (default: next to "
                                               "--baseline-cp)")
    ap.add_argument("--baseline-label", default="kuma-2.14.3")
    ap.add_argument("--baseline-configs", default="pc10-q100")
    ap.add_argument("--out-dir", default=os.path.join(ROOT, "docs", "bench-results"))
    ap.add_argument("--plot", default=os.path.join(ROOT, "docs", "benchmarks",
                                                   "kubernetes_pods.png"))
    ap.add_argument("--cp-core", default="0")
    ap.add_argument("--k8s-core", default="1", help="etcd, kube-apiserver and the loader")
    ap.add_argument("--loader-threads", type=int, default=16)
    ap.add_argument("--settle", type=float, default=5.0, help="seconds after kuma-cp is ready")
    ap.add_argument("--timeout", type=float, default=900.0,
                    help="seconds to wait for all Dataplanes after the load")
    ap.add_argument("--tmp-dir", default=None)
    ap.add_argument("--keep-failed", action="store_true")
    ap.add_argument("--no-copy-binary", dest="copy_binary", action="store_false",
                    help="run build/bin/kuma-cp in place (default: a copy taken at start)")
    ap.add_argument("--keep-logs-dir", help="copy every kuma-cp log here")
    args = ap.parse_args()
    args.etcd = args.etcd or os.path.join(args.build_dir, "deps", "k8s", "etcd")
    args.kube_apiserver = args.kube_apiserver or os.path.join(args.build_dir, "deps", "k8s",
                                                               "kube-apiserver")
    cp_binary = os.path.join(os.path.abspath(args.build_dir), "bin", "kuma-cp")
    for b in (args.etcd, args.kube_apiserver, cp_binary):
        if not os.access(b, os.X_OK):
            ap.error(f"{b} is missing (tools/setup.sh and make build)")
    busy = [name for name, p in PORTS.items() if not port_free(p)]
    if busy:
        ap.error(f"ports in use: {', '.join(f'{n}={PORTS[n]}' for n in busy)}")
    if args.copy_binary:
        # one kuma-cp for every run, even if the build tree is rebuilt meanwhile
        copy_dir = tempfile.mkdtemp(prefix="kuma-bench-k8s-bin-", dir=args.tmp_dir)
        copied = os.path.join(copy_dir, "kuma-cp")
        shutil.copy2(cp_binary, copied)
        cp_binary = copied
    wanted = list(CONFIGS) if not args.only else [c.strip() for c in args.only.split(",")]
    for c in wanted:
        if c not in CONFIGS:
            ap.error(f"unknown configuration {c}")
    small_for = {c.strip() for c in args.small_for.split(",") if c.strip()}
    # the loader runs in this process: on the API server's core
    os.sched_setaffinity(0, {int(args.k8s_core)})
    kuma_cp_info = {"mtime": time.strftime("%Y-%m-%d %H:%M:%S",
                                           time.localtime(os.path.getmtime(cp_binary))),
                    "git_head": subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                                               capture_output=True, text=True).stdout.strip()}
    runs = [(c, "kuma-cpp", cp_binary, None) for c in wanted]
    if args.baseline_cp:
        kumactl = args.baseline_kumactl or os.path.join(os.path.dirname(args.baseline_cp),
                                                        "kumactl")
        for c in args.baseline_configs.split(","):
            runs.append((c.strip(), args.baseline_label, os.path.abspath(args.baseline_cp),
                         kumactl))
    started = now()
    results = []
    failed = False
    for cfg, label, binary, kumactl in runs:
        size_name = "small" if cfg in small_for and args.size not in ("small", "tiny") \
            else args.size
        try:
            r = run_one(args, cfg, label, binary, kumactl, SIZES[size_name])
        except Exception as e:  # noqa: BLE001 - report and go on
            failed = True
            pc, qps, burst = CONFIGS[cfg]
            print(f"   {label} {cfg} failed: {e}", file=sys.stderr, flush=True)
            r = {"config": cfg, "control_plane": label, "pod_controller": pc, "qps": qps,
                 "burst_qps": burst, "pods": SIZES[size_name]["pods"], "error": str(e)}
        r["size"] = size_name
        failed = failed or not r.get("complete")
        results.append(r)
    if args.copy_binary:
        shutil.rmtree(os.path.dirname(cp_binary), ignore_errors=True)
    doc = {"command": portable_command(), "machine": machine(),
           "kuma_cp": kuma_cp_info,
           "loadavg_at_end": open("/proc/loadavg", encoding="ascii").read().split()[:3],
           "date": time.strftime("%Y-%m-%d %H:%M", time.localtime(started)),
           "wall_s": round(now() - started, 1),
           "pinning": f"kuma-cp taskset -c {args.cp_core}; etcd, kube-apiserver and the loader "
                      f"taskset -c {args.k8s_core}",
           "sizes": SIZES, "configs": CONFIGS, "results": results}
    os.makedirs(args.out_dir, exist_ok=True)
    out = os.path.join(os.path.abspath(args.out_dir), f"kubernetes-pods-{args.size}.json")
    with open(out, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    print()
    print(f"Results: {os.path.relpath(out, ROOT)} (wall time {doc['wall_s']} s)")
    if args.plot:
        plot(out, args.plot)
    print()
    print("Command: " + portable_command())
    print(doc["pinning"])
    print("\n".join(table(results)))
    return 1 if failed else 0


def plot(json_path, png):
    """bench/plot_kubernetes.py, with an interpreter that has matplotlib."""
    script = os.path.join(ROOT, "bench", "plot_kubernetes.py")
    for py in (sys.executable, "/usr/bin/python3"):
        if subprocess.run([py, "-c", "import matplotlib"], capture_output=True).returncode == 0:
            subprocess.run([py, script, json_path, "-o", png], check=False)
            return
    print("matplotlib missing (Debian: python3-matplotlib): no plot", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
