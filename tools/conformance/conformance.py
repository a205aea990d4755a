#!/usr/bin/env python3
"""Parity harness: the same fixtures on kuma-cpp and on a reference Kuma 2.14 kuma-cp, one real
kuma-dp + Envoy each, and a field-by-field diff of Envoy's normalised `/config_dump?include_eds`.

See docs/conformance.md. Standard library only.
"""

import argparse
import fnmatch
import http.client
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import normalize  # noqa: E402
import yamlite  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
PLACEHOLDER = re.compile(r"\{\{port:([A-Za-z0-9_-]+)\}\}")

# REST path segment of each resource type the fixtures use (Kuma's `/_resources` names).
LEGACY_PATHS = {
    "Dataplane": "dataplanes",
    "TrafficRoute": "traffic-routes",
    "TrafficPermission": "traffic-permissions",
    "HealthCheck": "health-checks",
    "CircuitBreaker": "circuit-breakers",
    "FaultInjection": "fault-injections",
    "TrafficLog": "traffic-logs",
    "TrafficTrace": "traffic-traces",
    "ProxyTemplate": "proxytemplates",
    "RateLimit": "rate-limits",
    "Retry": "retries",
    "Timeout": "timeouts",
    "ExternalService": "external-services",
    "VirtualOutbound": "virtual-outbounds",
    "Secret": "secrets",
}

# Ports each control plane opens (both are moved into the harness's range).
CP_PORT_ENV = {
    "api-http": "KUMA_API_SERVER_HTTP_PORT",
    "api-https": "KUMA_API_SERVER_HTTPS_PORT",
    "diagnostics": "KUMA_DIAGNOSTICS_SERVER_PORT",
    "dp-server": "KUMA_DP_SERVER_PORT",
    "inter-cp": "KUMA_INTER_CP_SERVER_PORT",
    "mads": "KUMA_MONITORING_ASSIGNMENT_SERVER_PORT",
    "kds-global": "KUMA_MULTIZONE_GLOBAL_KDS_GRPC_PORT",
    "default-admin": "KUMA_BOOTSTRAP_SERVER_PARAMS_ADMIN_PORT",
    "readiness": "KUMA_BOOTSTRAP_SERVER_PARAMS_READINESS_PORT",
}


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def resource_path(resource):
    kind, name = resource.get("type"), resource.get("name")
    if not kind or not name:
        raise ValueError(f"resource without type or name: {resource}")
    if kind == "Mesh":
        return f"/meshes/{name}"
    mesh = resource.get("mesh")
    if not mesh:
        raise ValueError(f"{kind} {name} has no mesh")
    plural = LEGACY_PATHS.get(kind)
    if plural is None:
        lower = kind.lower()
        plural = lower[:-1] + "ies" if lower.endswith("y") else lower + ("es" if lower.endswith(("s", "ch", "sh", "x")) else "s")
    return f"/meshes/{mesh}/{plural}/{name}"


class Ports:
    """Free loopback TCP ports from a range, never handed out twice in one run."""

    def __init__(self, first, last):
        self.candidates = list(range(first, last + 1))
        random.shuffle(self.candidates)
        self.used = set()

    def take(self):
        while self.candidates:
            port = self.candidates.pop()
            if port in self.used:
                continue
            self.used.add(port)
            if _port_free(port):
                return port
        raise RuntimeError("no free port left in the harness's range")


def _port_free(port):
    """Nothing listens on the port (TCP, as servers bind it: TIME_WAIT leftovers do not count) and
    no UDP socket holds it."""
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        s = socket.socket(socket.AF_INET, kind)
        if kind == socket.SOCK_STREAM:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        finally:
            s.close()
    return True


class Case:
    def __init__(self, directory):
        self.dir = directory
        self.name = os.path.basename(directory.rstrip("/"))
        files = sorted(f for f in os.listdir(directory) if f.endswith((".yaml", ".yml")))
        self.proxy_file = os.path.join(directory, "proxy.yaml")
        if "proxy.yaml" not in files:
            raise ValueError(f"case {self.name}: no proxy.yaml (the Dataplane of the proxy under test)")
        self.resource_files = [os.path.join(directory, f) for f in files if f != "proxy.yaml"]
        # Optional `kuma-dp.args`: extra kuma-dp flags (whitespace-separated, one or more per line)
        # and `env NAME=VALUE` lines; `{{port:x}}` placeholders work there too. A `--dns-enabled`
        # flag there replaces the harness's default `--dns-enabled=false`.
        self.dp_args_file = os.path.join(directory, "kuma-dp.args")
        extra = [self.dp_args_file] if os.path.exists(self.dp_args_file) else []
        # Optional `dns-queries`: `<name> <expected address, a glob>` lines. The harness asks
        # kuma-dp's embedded DNS proxy (KUMA_DNS_PROXY_PORT of kuma-dp.args) each name with dig
        # from the moment kuma-dp starts, and reports how long until each answer matched.
        self.dns_file = os.path.join(directory, "dns-queries")
        self.dns_queries = []
        if os.path.exists(self.dns_file):
            with open(self.dns_file) as f:
                for line in f:
                    line = line.split("#", 1)[0].strip()
                    if line:
                        name, expected = line.split()
                        self.dns_queries.append((name, expected))
        labels = set()
        for path in self.resource_files + [self.proxy_file] + extra:
            with open(path) as f:
                labels.update(PLACEHOLDER.findall(f.read()))
        self.port_labels = sorted(labels)

    def render(self, path, ports):
        with open(path) as f:
            text = f.read()
        return PLACEHOLDER.sub(lambda m: str(ports[m.group(1)]), text)

    def dp_extras(self, ports):
        """(extra kuma-dp args, extra kuma-dp env) from `kuma-dp.args`."""
        args, env = [], {}
        if not os.path.exists(self.dp_args_file):
            return args, env
        for line in self.render(self.dp_args_file, ports).splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("env "):
                name, _, value = line[4:].strip().partition("=")
                env[name] = value
            else:
                args.extend(line.split())
        return args, env


class Process:
    """A child in its own process group, ended by its group id."""

    def __init__(self, argv, env, log_path):
        self.log_path = log_path
        self.log = open(log_path, "wb")
        full_env = dict(os.environ)
        full_env.update(env)
        self.popen = subprocess.Popen(
            argv, env=full_env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def alive(self):
        return self.popen.poll() is None

    def stop(self, grace=5.0):
        if self.popen.poll() is None:
            try:
                os.killpg(self.popen.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.popen.wait(grace)
            except subprocess.TimeoutExpired:
                pass
        # kuma-dp's Envoy is in the same group; make sure nothing of it outlives the run.
        try:
            os.killpg(self.popen.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            self.popen.wait(5)
        except subprocess.TimeoutExpired:
            pass
        self.log.close()

    def tail(self, lines=30):
        try:
            with open(self.log_path, errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return ""


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout=5):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.unix_path)


class EnvoyAdmin:
    def __init__(self, socket_path=None, port=None):
        self.socket_path = socket_path
        self.port = port

    def get(self, path):
        if self.socket_path and os.path.exists(self.socket_path):
            conn = UnixHTTPConnection(self.socket_path)
        elif self.port:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        else:
            return None
        try:
            conn.request("GET", path)
            res = conn.getresponse()
            body = res.read()
            return body.decode() if res.status == 200 else None
        except OSError:
            return None
        finally:
            conn.close()


def http_request(method, url, body=None, timeout=5):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as res:
            return res.status, res.read().decode(errors="replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")
    except (urllib.error.URLError, OSError) as e:
        return 0, str(e)


def wait_until(condition, timeout, interval=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    return None


class Side:
    """One control plane flavour: its kuma-cp and its kuma-dp."""

    def __init__(self, label, kuma_cp, kuma_dp):
        self.label = label
        self.kuma_cp = os.path.abspath(kuma_cp)
        self.kuma_dp = os.path.abspath(kuma_dp)
        self.dns = []  # the last case's probe_dns results


class CaseFailure(Exception):
    pass


def case_ports(case, pool, previous=None):
    """Ports for every label of a case, ascending in label order (so that, for example, backend-v1's
    port is below backend-v2's on both sides). The second side reuses the first side's ports when
    they are still free, so that both control planes see the same addresses."""
    labels = sorted(list(CP_PORT_ENV) + case.port_labels + ["dp-readiness"])
    if previous and all(_port_free(p) for p in previous.values()):
        return dict(previous)
    ports = sorted(pool.take() for _ in labels)
    return dict(zip(labels, ports))


def run_side(case, side, args, ports):
    """Runs `case` on one control plane; returns (raw dump, normalisation Context)."""
    side.dns = []
    tmp = tempfile.mkdtemp(prefix="kconf-", dir="/tmp")
    cp_work = os.path.join(tmp, "cp")
    dp_work = os.path.join(tmp, "dp")
    os.makedirs(cp_work)
    env = {env_name: str(ports[label]) for label, env_name in CP_PORT_ENV.items()}
    env.update(
        {
            "KUMA_ENVIRONMENT": "universal",
            "KUMA_STORE_TYPE": "memory",
            "KUMA_GENERAL_WORK_DIR": cp_work,
            "KUMA_API_SERVER_HTTP_INTERFACE": "127.0.0.1",
            "KUMA_API_SERVER_HTTPS_INTERFACE": "127.0.0.1",
            "KUMA_DP_SERVER_AUTHN_DP_PROXY_TYPE": "none",
            "KUMA_DP_SERVER_AUTHN_ZONE_PROXY_TYPE": "none",
            "KUMA_DEFAULTS_SKIP_MESH_CREATION": "true",
            "KUMA_REPORTS_ENABLED": "false",
        }
    )
    context = normalize.Context(
        ports={p: label for label, p in ports.items()},
        paths={dp_work: "<dp-workdir>", cp_work: "<cp-workdir>", tmp: "<tmp>"},
    )
    cp = dp = None
    try:
        cp = Process([side.kuma_cp, "run"], env, os.path.join(tmp, "kuma-cp.log"))
        api = f"http://127.0.0.1:{ports['api-http']}"
        ready = wait_until(
            lambda: not cp.alive()
            or http_request("GET", f"http://127.0.0.1:{ports['diagnostics']}/ready", timeout=1)[0] == 200,
            args.timeout,
        )
        if not ready or not cp.alive():
            raise CaseFailure(f"{side.label} kuma-cp did not become ready:\n{cp.tail()}")
        # Kuma answers /ready before its API server listens; wait for the index too.
        if not wait_until(lambda: http_request("GET", api + "/", timeout=1)[0] == 200, args.timeout):
            raise CaseFailure(f"{side.label} API server did not answer:\n{cp.tail()}")

        for path in case.resource_files:
            for resource in yamlite.load_all(case.render(path, ports)):
                url = api + resource_path(resource)
                status, body = http_request("PUT", url, resource)
                if status not in (200, 201):
                    raise CaseFailure(
                        f"{side.label} rejected {os.path.basename(path)} "
                        f"{resource.get('type')} {resource.get('name')}: {status} {' '.join(body.split())[:300]}"
                    )
        if args.settle > 0:
            time.sleep(args.settle)

        proxy_file = os.path.join(tmp, "proxy.yaml")
        with open(proxy_file, "w") as f:
            f.write(case.render(case.proxy_file, ports))
        proxy = yamlite.load_all(case.render(case.proxy_file, ports))[0]
        readiness = ports["dp-readiness"]
        ca_cert = os.path.join(cp_work, "kuma-cp.crt")
        if not wait_until(lambda: os.path.exists(ca_cert), 10):
            raise CaseFailure(f"{side.label} kuma-cp wrote no {ca_cert}")
        dp_argv = [
            side.kuma_dp,
            "run",
            "--cp-address",
            f"https://127.0.0.1:{ports['dp-server']}",
            "--ca-cert-file",
            ca_cert,
            "--binary-path",
            args.envoy,
            "--drain-time",
            "1s",
            "--concurrency",
            "1",
            "--work-dir",
            dp_work,
            "-d",
            proxy_file,
        ]
        extra_args, extra_env = case.dp_extras(ports)
        if not any(a.startswith("--dns-enabled") for a in extra_args):
            dp_argv.append("--dns-enabled=false")
        dp_argv.extend(extra_args)
        dp_env = {"KUMA_READINESS_PORT": str(readiness), "KUMA_CONTROL_PLANE_RETRY_BACKOFF": "200ms"}
        dp_env.update(extra_env)
        dp_started = time.monotonic()
        dp = Process(dp_argv, dp_env, os.path.join(tmp, "kuma-dp.log"))
        if case.dns_queries:
            dns_port = extra_env.get("KUMA_DNS_PROXY_PORT")
            if not dns_port:
                raise CaseFailure(f"{case.name}: dns-queries needs KUMA_DNS_PROXY_PORT in kuma-dp.args")
            side.dns = probe_dns(case, dns_port, dp_started, dp, args)
            for name, expected, answers, seconds in side.dns:
                took = f"in {seconds:.2f}s" if seconds is not None else "NOT ANSWERED"
                log(f"  {side.label} dns {name} -> {','.join(answers) or '-'} (want {expected}) {took}")
        admin_port = ((proxy.get("networking") or {}).get("admin") or {}).get("port")
        admin = EnvoyAdmin(os.path.join(dp_work, "kuma-envoy-admin.sock"), admin_port)
        dump = wait_for_stable_dump(admin, dp, context, args)
        if dump is None:
            raise CaseFailure(f"{side.label}: Envoy got no stable config in {args.timeout}s:\n{dp.tail()}")
        return dump, context
    finally:
        if dp is not None:
            dp.stop()
        if cp is not None:
            cp.stop()
        if args.keep_tmp:
            log(f"  {side.label} logs: {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def dig(port, name, timeout=1):
    """The A records kuma-dp's DNS proxy on 127.0.0.1:port gives for `name` (dig +short)."""
    try:
        out = subprocess.run(
            ["dig", "@127.0.0.1", "-p", str(port), "+short", f"+time={timeout}", "+tries=1", name, "A"],
            capture_output=True, text=True, timeout=timeout + 2,
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return []
    return [l.strip() for l in out.splitlines() if l.strip() and not l.startswith(";")]


def probe_dns(case, port, started, dp, args):
    """[(name, expected, answers, seconds since kuma-dp started or None)] for the case's
    `dns-queries`, polled until each matches or args.timeout runs out."""
    pending = list(case.dns_queries)
    results = []
    deadline = started + args.timeout
    while pending and time.monotonic() < deadline and dp.alive():
        still = []
        for name, expected in pending:
            answers = dig(port, name)
            if any(fnmatch.fnmatch(a, expected) for a in answers):
                results.append((name, expected, answers, time.monotonic() - started))
            else:
                still.append((name, expected))
        pending = still
        if pending:
            time.sleep(0.1)
    for name, expected in pending:
        results.append((name, expected, dig(port, name), None))
    return results


def wait_for_stable_dump(admin, dp, context, args):
    """The dump once Envoy has dynamic listeners, no warming resources, and it stopped changing."""
    deadline = time.monotonic() + args.timeout
    last, same = None, 0
    while time.monotonic() < deadline:
        if not dp.alive():
            return None
        text = admin.get("/config_dump?include_eds")
        if text:
            try:
                dump = json.loads(text)
            except ValueError:
                dump = None
            if dump is not None:
                norm = normalize.normalize(dump, context)
                listeners = norm.get("ListenersConfigDump", {}).get("dynamic_listeners", {})
                warming = norm.get("ClustersConfigDump", {}).get("dynamic_warming_clusters", {})
                if listeners and not warming:
                    same = same + 1 if norm == last else 1
                    last = norm
                    if same >= args.stable_polls:
                        return dump
        time.sleep(1.0)
    return None


def print_table(results, out):
    header = f"{'case':<24} {'fields':>7} {'equal':>7} {'match':>8}   notes"
    print(header, file=out)
    print("-" * len(header), file=out)
    for name, res in results:
        if isinstance(res, str):
            print(f"{name:<24} {'-':>7} {'-':>7} {'-':>8}   {res}", file=out)
            continue
        notes = (
            f"{len(res.different)} differ, {len(res.only_ours)} only kuma-cpp, "
            f"{len(res.only_theirs)} only Kuma"
        )
        print(f"{name:<24} {res.compared:>7} {res.equal:>7} {res.percent:>7.1f}%   {notes}", file=out)


def describe(d, verbose, limit):
    lines = []
    for title, paths, show in (
        ("differ", d.different, lambda p: f"kuma-cpp={json.dumps(d.ours[p])} kuma={json.dumps(d.theirs[p])}"),
        ("only in kuma-cpp", d.only_ours, lambda p: f"kuma-cpp={json.dumps(d.ours[p])}"),
        ("only in Kuma", d.only_theirs, lambda p: f"kuma={json.dumps(d.theirs[p])}"),
    ):
        if not paths:
            continue
        lines.append(f"  {title} ({len(paths)}):")
        for p in paths[: limit or None]:
            lines.append(f"    {p}" + (f"\n        {show(p)}" if verbose else ""))
        if limit and len(paths) > limit:
            lines.append(f"    ... {len(paths) - limit} more (--limit 0 shows all)")
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--ref-kuma-cp", default=os.environ.get("REF_KUMA_CP") or None,
                   help="reference Kuma 2.14 kuma-cp binary (env REF_KUMA_CP)")
    p.add_argument("--ref-kuma-dp", default=os.environ.get("REF_KUMA_DP") or None,
                   help="kuma-dp for the reference (default: kuma-dp next to --ref-kuma-cp)")
    p.add_argument("--ref-dumps", default=os.environ.get("REF_DUMPS") or None,
                   help="instead of running a reference kuma-cp, compare with saved Kuma dumps "
                        "(DIR/<case>.json, as written by --save-ref-dumps)")
    p.add_argument("--save-ref-dumps", default=None, help="also write Kuma's normalised dumps to DIR/<case>.json")
    p.add_argument("--bin-dir", default=os.path.join(REPO, "build", "bin"), help="kuma-cpp's kuma-cp and kuma-dp")
    p.add_argument("--envoy", default=os.path.join(REPO, "build", "deps", "envoy-venv", "bin", "envoy"))
    p.add_argument("--cases", default=os.path.join(HERE, "cases"), help="directory of case folders")
    p.add_argument("--case", action="append", default=[], help="run only this case (repeatable)")
    p.add_argument("--out", default=os.path.join(REPO, "build", "conformance"), help="output directory")
    p.add_argument("--only", choices=("kuma-cpp", "kuma"), help="run one side only (no diff)")
    p.add_argument("--cross", action="store_true",
                   help="also run kuma-cpp's kuma-cp with the reference kuma-dp and the reference "
                        "kuma-cp with kuma-cpp's kuma-dp (dumps and DNS answers, no diff)")
    p.add_argument("--port-range", default="27000-27999")
    p.add_argument("--timeout", type=float, default=90.0, help="seconds to wait for each start/config")
    p.add_argument("--settle", type=float, default=1.0, help="seconds between fixtures and kuma-dp start")
    p.add_argument("--stable-polls", type=int, default=4, help="identical dumps in a row (1s apart) to accept")
    p.add_argument("--verbose", "-v", action="store_true", help="print values of differing fields")
    p.add_argument("--limit", type=int, default=40, help="differing paths listed per kind and case (0: all)")
    p.add_argument("--strict", action="store_true", help="exit 1 when any case differs or fails")
    p.add_argument("--keep-tmp", action="store_true", help="keep the work dirs and logs of each run")
    args = p.parse_args(argv)

    first, last = (int(x) for x in args.port_range.split("-"))
    pool = Ports(first, last)
    args.envoy = os.path.abspath(args.envoy)
    if not os.access(args.envoy, os.X_OK):
        p.error(f"no Envoy at {args.envoy} (run `make setup-test`)")

    sides = []
    if args.only != "kuma":
        sides.append(Side("kuma-cpp", os.path.join(args.bin_dir, "kuma-cp"), os.path.join(args.bin_dir, "kuma-dp")))
    if args.only != "kuma-cpp" and args.ref_kuma_cp:
        ref_dp = args.ref_kuma_dp or os.path.join(os.path.dirname(os.path.abspath(args.ref_kuma_cp)), "kuma-dp")
        sides.append(Side("kuma", args.ref_kuma_cp, ref_dp))
    if args.cross:
        if not args.ref_kuma_cp:
            p.error("--cross needs --ref-kuma-cp / REF_KUMA_CP")
        own = sides[0]
        ref = [s for s in sides if s.label == "kuma"][0]
        sides.append(Side("kuma-cpp+kuma-dp", own.kuma_cp, ref.kuma_dp))
        sides.append(Side("kuma+kuma-cpp-dp", ref.kuma_cp, own.kuma_dp))
    if args.only == "kuma" and not args.ref_kuma_cp:
        p.error("--only kuma needs --ref-kuma-cp / REF_KUMA_CP")
    if not args.ref_kuma_cp and not args.ref_dumps and args.only is None:
        log("no REF_KUMA_CP and no --ref-dumps: running kuma-cpp only, nothing to compare with")
    for side in sides:
        for binary in (side.kuma_cp, side.kuma_dp):
            if not os.access(binary, os.X_OK):
                p.error(f"{side.label}: {binary} is not an executable")

    names = sorted(d for d in os.listdir(args.cases) if os.path.isdir(os.path.join(args.cases, d)))
    if args.case:
        unknown = set(args.case) - set(names)
        if unknown:
            p.error(f"unknown case(s): {', '.join(sorted(unknown))}")
        names = [n for n in names if n in args.case]

    results, details = [], []
    for name in names:
        case = Case(os.path.join(args.cases, name))
        out_dir = os.path.join(args.out, name)
        os.makedirs(out_dir, exist_ok=True)
        normalised = {}
        failure = None
        ports = None
        for side in sides:
            log(f"[{name}] {side.label} ...")
            t0 = time.monotonic()
            ports = case_ports(case, pool, ports)
            try:
                dump, ctx = run_side(case, side, args, ports)
            except (CaseFailure, ValueError, OSError) as e:
                failure = f"{side.label} failed: {str(e).splitlines()[0]}"
                log(f"[{name}] {e}")
                break
            if side.dns:
                with open(os.path.join(out_dir, f"dns-{side.label}.txt"), "w") as f:
                    for qname, expected, answers, seconds in side.dns:
                        took = f"{seconds:.2f}" if seconds is not None else "-"
                        f.write(f"{qname} {','.join(answers) or '-'} want={expected} seconds={took}\n")
                unanswered = [q for q, _, _, sec in side.dns if sec is None]
                if unanswered:
                    failure = f"{side.label} DNS: no matching answer for {', '.join(unanswered)}"
                    break
            normalised[side.label] = normalize.normalize(dump, ctx)
            with open(os.path.join(out_dir, side.label + ".json"), "w") as f:
                json.dump(normalised[side.label], f, indent=2, sort_keys=True)
                f.write("\n")
            log(f"[{name}] {side.label} done in {time.monotonic() - t0:.1f}s")
            if side.label == "kuma" and args.save_ref_dumps:
                os.makedirs(args.save_ref_dumps, exist_ok=True)
                shutil.copyfile(os.path.join(out_dir, "kuma.json"), os.path.join(args.save_ref_dumps, name + ".json"))
        if failure:
            results.append((name, failure))
            continue
        if "kuma" not in normalised and args.ref_dumps:
            ref = os.path.join(args.ref_dumps, name + ".json")
            if os.path.exists(ref):
                with open(ref) as f:
                    normalised["kuma"] = json.load(f)
                shutil.copyfile(ref, os.path.join(out_dir, "kuma.json"))
            else:
                results.append((name, f"no reference dump {ref}"))
                continue
        if len(normalised) < 2:
            results.append((name, "one side only: " + ", ".join(normalised)))
            continue
        d = normalize.diff(normalised["kuma-cpp"], normalised["kuma"])
        results.append((name, d))
        text = describe(d, args.verbose, args.limit)
        with open(os.path.join(out_dir, "diff.txt"), "w") as f:
            f.write(describe(d, True, 0) + "\n")
        if text:
            details.append(f"{name}:\n{text}")

    print()
    print_table(results, sys.stdout)
    if details:
        print()
        print("\n".join(details))
    print(f"\nnormalised dumps and diff.txt per case under {args.out}/<case>/")
    if args.strict:
        bad = [r for _, r in results if isinstance(r, str) or r.equal != r.compared]
        return 1 if bad else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
