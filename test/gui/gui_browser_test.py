#!/usr/bin/env python3
"""The GUI end to end (docs/gui.md): a real kuma-cp on free loopback ports with an mTLS mesh
(builtin CA), two real Envoys through our kuma-dp and a few policies; Debian's headless Chromium,
driven by Selenium, opens every page and checks what it shows (proxy names, online status, a
policy's YAML, a proxy's Envoy config), follows a deep link and reloads it, and sees a change
appear without a reload. Screenshots go to $KUMA_BUILD_DIR/gui-screenshots/.

Selenium comes from the venv tools/setup.sh installs (`make setup-test`); run by ctest
(label integration, serialized with the other end-to-end tests) or by hand:
    KUMA_BUILD_DIR=build python3 test/gui/gui_browser_test.py
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(REPO, "tools", "conformance"))

import conformance  # noqa: E402  (the parity harness's process and polling helpers)


def selenium_python():
    """The venv's python of tools/setup.sh (pinned Selenium)."""
    with open(os.path.join(REPO, "tools", "setup.sh")) as f:
        version = re.search(r'^SELENIUM_VERSION="([^"]+)"', f.read(), re.M).group(1)
    venv = os.environ.get("KUMA_SELENIUM_VENV") or os.path.expanduser(
        f"~/.cache/kuma-cpp/selenium-venv-{version}")
    return os.path.join(venv, "bin", "python")


try:
    from selenium import webdriver
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:
    py = selenium_python()
    if os.path.abspath(sys.executable) != os.path.abspath(py) and os.access(py, os.X_OK):
        os.execv(py, [py] + sys.argv)
    sys.exit(f"gui_browser_test: Selenium is not installed ({py}); run `make setup-test`")

BUILD = os.path.abspath(os.environ.get("KUMA_BUILD_DIR", os.path.join(REPO, "build")))
BIN = os.path.join(BUILD, "bin")
ENVOY = os.environ.get("KUMA_ENVOY", os.path.join(BUILD, "deps", "envoy-venv", "bin", "envoy"))
CHROMIUM = os.environ.get("KUMA_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("KUMA_CHROMEDRIVER", "/usr/bin/chromedriver")
SHOTS = os.path.join(BUILD, "gui-screenshots")
TIMEOUT = 60


def free_ports(n):
    """n distinct free loopback ports (bound together, then released)."""
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


def http(method, url, body=None, headers=None, timeout=10):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as res:
            return res.status, dict(res.headers), res.read().decode(errors="replace")
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode(errors="replace")
    except (urllib.error.URLError, OSError) as e:
        return 0, {}, str(e)


def wait_until(condition, timeout=TIMEOUT, interval=0.3):
    return conformance.wait_until(condition, timeout, interval)


# A child in its own process group (kuma-dp's Envoy too), ended by the group id.
Process = conformance.Process


def start_kuma_cp(work, extra_env=None):
    """kuma-cp on free ports (memory store, no default mesh); returns (process, ports)."""
    names = ["api", "api-https", "diag", "dp", "inter-cp", "mads", "kds", "admin", "readiness"]
    ports = dict(zip(names, free_ports(len(names))))
    env = {
        "KUMA_ENVIRONMENT": "universal", "KUMA_STORE_TYPE": "memory", "KUMA_GENERAL_WORK_DIR": work,
        "KUMA_API_SERVER_HTTP_INTERFACE": "127.0.0.1", "KUMA_API_SERVER_HTTPS_INTERFACE": "127.0.0.1",
        "KUMA_API_SERVER_HTTP_PORT": str(ports["api"]), "KUMA_API_SERVER_HTTPS_PORT": str(ports["api-https"]),
        "KUMA_DIAGNOSTICS_SERVER_PORT": str(ports["diag"]), "KUMA_DP_SERVER_PORT": str(ports["dp"]),
        "KUMA_INTER_CP_SERVER_PORT": str(ports["inter-cp"]),
        "KUMA_MONITORING_ASSIGNMENT_SERVER_PORT": str(ports["mads"]),
        "KUMA_MULTIZONE_GLOBAL_KDS_GRPC_PORT": str(ports["kds"]),
        "KUMA_BOOTSTRAP_SERVER_PARAMS_ADMIN_PORT": str(ports["admin"]),
        "KUMA_BOOTSTRAP_SERVER_PARAMS_READINESS_PORT": str(ports["readiness"]),
        "KUMA_DP_SERVER_AUTHN_DP_PROXY_TYPE": "none", "KUMA_DP_SERVER_AUTHN_ZONE_PROXY_TYPE": "none",
        "KUMA_DEFAULTS_SKIP_MESH_CREATION": "true", "KUMA_REPORTS_ENABLED": "false",
    }
    env.update(extra_env or {})
    os.makedirs(work, exist_ok=True)
    cp = Process([os.path.join(BIN, "kuma-cp"), "run"], env, os.path.join(work, "kuma-cp.log"))
    api = f"http://127.0.0.1:{ports['api']}"
    if not wait_until(lambda: not cp.alive() or http("GET", api + "/", timeout=1)[0] == 200):
        raise RuntimeError("kuma-cp did not answer:\n" + cp.tail())
    if not cp.alive():
        raise RuntimeError("kuma-cp exited:\n" + cp.tail())
    return cp, ports


MESH = {"type": "Mesh", "name": "default",
        "mtls": {"enabledBackend": "ca-1", "backends": [{"name": "ca-1", "type": "builtin"}]}}

POLICIES = [
    {"type": "MeshTimeout", "mesh": "default", "name": "timeout-web",
     "spec": {"targetRef": {"kind": "Dataplane", "labels": {"app": "web"}},
              "to": [{"targetRef": {"kind": "Mesh"},
                      "default": {"idleTimeout": "20s", "connectionTimeout": "3s"}}]}},
    {"type": "MeshTrafficPermission", "mesh": "default", "name": "allow-all",
     "spec": {"targetRef": {"kind": "Mesh"},
              "from": [{"targetRef": {"kind": "Mesh"}, "default": {"action": "Allow"}}]}},
    {"type": "MeshRetry", "mesh": "default", "name": "retry-backend",
     "spec": {"targetRef": {"kind": "Mesh"},
              "to": [{"targetRef": {"kind": "MeshService", "name": "backend"},
                      "default": {"http": {"numRetries": 3}}}]}},
]

PATHS = {"Mesh": "/meshes/default", "MeshTimeout": "/meshes/default/meshtimeouts/",
         "MeshTrafficPermission": "/meshes/default/meshtrafficpermissions/",
         "MeshRetry": "/meshes/default/meshretries/"}


def dataplane_yaml(name, address, service, labels, ports, outbound=None):
    lines = ["type: Dataplane", "mesh: default", f"name: {name}", "labels:"]
    lines += [f"  {k}: {v}" for k, v in labels.items()]
    lines += ["networking:", f"  address: {address}", "  admin:", f"    port: {ports[0]}", "  inbound:",
              f"  - port: {ports[1]}", f"    servicePort: {ports[2]}", "    tags:",
              f"      kuma.io/service: {service}", "      kuma.io/protocol: http"]
    if outbound:
        lines += ["  outbound:", f"  - port: {ports[3]}", "    tags:", f"      kuma.io/service: {outbound}"]
    return "\n".join(lines) + "\n"


class GuiBrowserTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        for path, what in ((os.path.join(BIN, "kuma-cp"), "kuma-cp"), (os.path.join(BIN, "kuma-dp"), "kuma-dp"),
                           (ENVOY, "Envoy (make setup-test)"), (CHROMIUM, "chromium (make setup-test)"),
                           (CHROMEDRIVER, "chromium-driver (make setup-test)")):
            if not os.access(path, os.X_OK):
                raise RuntimeError(f"missing {what}: {path}")
        cls.tmp = tempfile.mkdtemp(prefix="kgui-", dir="/tmp")
        cls.procs = []
        cls.driver = None
        try:
            cls._start()
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def _start(cls):
        cp, ports = start_kuma_cp(os.path.join(cls.tmp, "cp"))
        cls.procs.append(cp)
        cls.cp = cp
        cls.api = f"http://127.0.0.1:{ports['api']}"
        for r in [MESH] + POLICIES:
            path = PATHS[r["type"]] + (r["name"] if r["type"] != "Mesh" else "")
            status, _, body = http("PUT", cls.api + path, r)
            if status not in (200, 201):
                raise RuntimeError(f"PUT {path}: {status} {body}")
        ca = os.path.join(cls.tmp, "cp", "kuma-cp.crt")
        if not wait_until(lambda: os.path.exists(ca), 20):
            raise RuntimeError("kuma-cp wrote no " + ca)
        # Addresses other than 127.0.0.1, so that kuma-cp generates each proxy's `kuma:envoy:admin`
        # listener (the inspect endpoints xds/stats/clusters go through it).
        for name, address, service, labels, outbound in (
                ("web-1", "127.0.0.2", "web", {"app": "web"}, "backend"),
                ("backend-1", "127.0.0.3", "backend", {"app": "backend"}, None)):
            p = free_ports(5)
            work = os.path.join(cls.tmp, name)
            os.makedirs(work)
            dp_file = os.path.join(work, "dataplane.yaml")
            with open(dp_file, "w") as f:
                f.write(dataplane_yaml(name, address, service, labels, p, outbound))
            argv = [os.path.join(BIN, "kuma-dp"), "run", "--cp-address", f"https://127.0.0.1:{ports['dp']}",
                    "--ca-cert-file", ca, "--binary-path", ENVOY, "--drain-time", "1s", "--concurrency", "1",
                    "--work-dir", work, "--dns-enabled=false", "-d", dp_file]
            cls.procs.append(Process(argv, {"KUMA_READINESS_PORT": str(p[4]),
                                            "KUMA_CONTROL_PLANE_RETRY_BACKOFF": "200ms"},
                                     os.path.join(work, "kuma-dp.log")))

        def both_online():
            status, _, body = http("GET", cls.api + "/meshes/default/dataplanes/_overview")
            if status != 200:
                return False
            items = json.loads(body).get("items", [])
            online = [i["name"] for i in items
                      if (i.get("dataplaneInsight", {}).get("subscriptions") or [{}])[-1].get("connectTime")
                      and not (i.get("dataplaneInsight", {}).get("subscriptions") or [{}])[-1].get("disconnectTime")
                      and i.get("dataplaneInsight", {}).get("mTLS", {}).get("certificateExpirationTime")]
            return sorted(online) == ["backend-1", "web-1"]

        if not wait_until(both_online, 90, 1):
            raise RuntimeError("the two proxies did not come online with certificates:\n" +
                               "\n".join(p.tail(15) for p in cls.procs))
        opts = webdriver.ChromeOptions()
        opts.binary_location = CHROMIUM
        for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                  "--window-size=1400,1000", "--no-first-run", "--disable-extensions",
                  f"--user-data-dir={os.path.join(cls.tmp, 'chromium')}"):
            opts.add_argument(a)
        cls.driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER,
                                                      log_output=os.path.join(cls.tmp, "chromedriver.log")),
                                      options=opts)
        cls.driver.set_page_load_timeout(30)
        os.makedirs(SHOTS, exist_ok=True)

    @classmethod
    def tearDownClass(cls):
        if cls.driver is not None:
            try:
                cls.driver.quit()
            except Exception:
                pass
        for p in reversed(cls.procs):
            p.stop()
        if os.environ.get("KUMA_KEEP_TMP"):
            print("logs in", cls.tmp)
        else:
            shutil.rmtree(cls.tmp, ignore_errors=True)

    # --- helpers --------------------------------------------------------------------------------

    def open(self, path):
        self.driver.get(self.api + "/gui" + path)

    def wait_text(self, css, *needles, timeout=20):
        """Waits until the element at `css` exists and its text contains every needle."""
        last = [""]

        def ok(d):
            els = d.find_elements(By.CSS_SELECTOR, css)
            if not els:
                return False
            last[0] = els[0].text
            return all(n in last[0] for n in needles)
        try:
            WebDriverWait(self.driver, timeout).until(ok)
        except TimeoutException:
            errors = [e.text for e in self.driver.find_elements(By.CSS_SELECTOR, ".error, .notice")]
            self.fail(f"{self.driver.current_url}: {css} never showed {needles}; it showed:\n{last[0][:2000]}"
                      f"\nerrors on the page: {errors}")
        return last[0]

    def shot(self, name):
        path = os.path.join(SHOTS, name)
        self.driver.save_screenshot(path)
        self.assertGreater(os.path.getsize(path), 5000, path)

    def rows(self, css):
        return [r.text for r in self.driver.find_elements(By.CSS_SELECTOR, css + " tbody tr")]

    def js_errors(self):
        try:
            # Network errors are expected (the error test reads a missing mesh); script errors are not.
            return [e for e in self.driver.get_log("browser")
                    if e.get("level") == "SEVERE" and e.get("source") != "network"]
        except Exception:
            return []

    # --- tests (run in name order) ----------------------------------------------------------------

    def test_00_assets_served_with_types_and_etags(self):
        status, headers, body = http("GET", self.api + "/gui/")
        self.assertEqual(status, 200)
        self.assertTrue(headers["Content-Type"].startswith("text/html"), headers)
        self.assertIn('<base href="/gui/">', body)
        status, headers, body = http("GET", self.api + "/gui/assets/js/app.js")
        self.assertEqual(status, 200)
        self.assertTrue(headers["Content-Type"].startswith("text/javascript"), headers)
        self.assertIn("import", body)
        etag = headers["ETag"]
        self.assertEqual(headers["Cache-Control"], "no-cache")
        self.assertEqual(http("GET", self.api + "/gui/assets/js/app.js", headers={"If-None-Match": etag})[0], 304)
        status, headers, _ = http("GET", self.api + "/gui/assets/style.css")
        self.assertTrue(headers["Content-Type"].startswith("text/css"), headers)
        self.assertEqual(http("GET", self.api + "/gui/assets/js/nope.js")[0], 404)
        status, headers, body = http("GET", self.api + "/gui/meshes/default/data-planes/web-1")
        self.assertEqual(status, 200)
        self.assertIn("assets/js/app.js", body)
        self.assertEqual(http("POST", self.api + "/gui/", body={})[0], 405)
        index = json.loads(http("GET", self.api + "/")[2])
        self.assertEqual(index["gui"], "/gui")

    def test_01_home(self):
        self.open("/")
        text = self.wait_text("#meshes-table", "default", "mTLS: ca-1", "2 online / 2")
        self.assertIn("default", text)
        cards = self.wait_text("#home-cards", "Proxies online")
        self.assertRegex(cards, r"Proxies online\s+2\s+of 2")
        self.assertRegex(cards, r"Proxies offline\s+0")
        self.assertRegex(cards, r"Policies\s+\d")
        self.wait_text("#refresh-state", "updated")
        self.shot("home.png")

    def test_02_mesh(self):
        self.open("/")
        self.wait_text("#meshes-table", "default")
        self.driver.find_element(By.CSS_SELECTOR, "#meshes-table a").click()
        body = self.wait_text("#mesh-body", "Proxies online", "ca-1", "MeshTimeout", "builtin")
        self.assertIn("/gui/meshes/default", self.driver.current_url)
        self.assertIn("MeshTrafficPermission", body)
        self.shot("mesh.png")

    def test_03_dataplanes_list_and_filters(self):
        self.open("/meshes/default/data-planes")
        text = self.wait_text("#dp-table", "web-1", "backend-1")
        rows = self.rows("#dp-table")
        self.assertEqual(len(rows), 2, rows)
        for r in rows:
            self.assertIn("online", r)
            self.assertRegex(r, r"1\.38\.\d")  # Envoy's version, from kuma-dp's report
            self.assertRegex(r, r"in \d+[dh]")  # the certificate's expiry
        self.wait_text("#dp-summary", "1–2 of 2 proxies", "2 online, 0 offline")
        self.shot("data-planes.png")
        name = self.driver.find_element(By.ID, "filter-name")
        name.send_keys("web")
        self.driver.find_element(By.CSS_SELECTOR, "#dp-filters button").click()
        self.wait_text("#dp-summary", "of 1 proxies")
        self.assertEqual([r.split("\n")[0].split(" ")[0] for r in self.rows("#dp-table")], ["web-1"])
        self.assertIn("name=web", self.driver.current_url)
        self.open("/meshes/default/data-planes?tag=kuma.io/service:backend")
        self.wait_text("#dp-summary", "of 1 proxies")
        self.assertIn("backend-1", self.rows("#dp-table")[0])
        self.open("/meshes/default/data-planes?status=offline")
        self.wait_text("#dp-list", "No proxies on this page match.")

    def test_04_dataplane_detail(self):
        self.open("/meshes/default/data-planes")
        self.wait_text("#dp-table", "web-1")
        self.driver.find_element(By.LINK_TEXT, "web-1").click()
        text = self.wait_text("#dp-body", "online", "kuma.io/service=web", "Certificate expires")
        self.assertIn("/gui/meshes/default/data-planes/web-1", self.driver.current_url)
        self.wait_text("#dp-outbounds", "kuma.io/service=backend")
        self.assertIn("ca-1", text)
        self.shot("data-plane.png")
        self.driver.find_element(By.CSS_SELECTOR, 'a[data-tab="policies"]').click()
        self.wait_text("#dp-rules", "MeshTimeout", "MeshTrafficPermission", timeout=30)
        # `_policies` needs MeshServices (Kuma answers 400 without): a notice, not a broken page.
        self.wait_text("#dp-body", "(_policies) is not available", "meshService")
        self.shot("data-plane-policies.png")
        self.driver.find_element(By.CSS_SELECTOR, 'a[data-tab="config"]').click()
        config = self.wait_text("#dp-config", '"name": "backend"', '"connectTimeout": "3s"', timeout=30)
        self.assertIn("inbound", config)
        self.shot("data-plane-config.png")
        self.driver.find_element(By.CSS_SELECTOR, 'a[data-tab="xds"]').click()
        self.wait_text("#dp-xds", "ListenersConfigDump", "web", timeout=30)
        self.driver.find_element(By.CSS_SELECTOR, 'a[data-tab="stats"]').click()
        self.wait_text("#dp-stats", "cluster_manager.", timeout=30)
        self.driver.find_element(By.CSS_SELECTOR, 'a[data-tab="clusters"]').click()
        self.wait_text("#dp-clusters", "::", timeout=30)

    def test_05_deep_link_survives_reload(self):
        self.open("/meshes/default/data-planes/backend-1?tab=config")
        self.wait_text("#dp-config", "inbound", timeout=30)
        self.driver.refresh()
        self.wait_text("h1", "backend-1")
        self.wait_text("#dp-config", "inbound", timeout=30)
        self.driver.back()  # history routing: the list page before the deep link
        self.open("/meshes/default/policies/meshtimeouts/timeout-web")
        self.driver.refresh()
        self.wait_text("#policy-yaml", "name: timeout-web")

    def test_06_services(self):
        self.open("/meshes/default/services")
        self.wait_text("#svc-table", "web", "backend", "1 / 1")
        self.shot("services.png")
        self.driver.find_element(By.LINK_TEXT, "backend").click()
        self.wait_text("#dp-summary", "of 1 proxies")
        self.assertIn("backend-1", self.rows("#dp-table")[0])

    def test_07_policies(self):
        self.open("/meshes/default/policies")
        types = self.wait_text("#policy-types-table", "MeshTimeout", "MeshRetry", "MeshTrafficPermission",
                               "MeshHealthCheck")
        self.assertIn("TrafficRoute", types)  # legacy types are listed too
        self.driver.find_element(By.LINK_TEXT, "MeshTimeout").click()
        self.wait_text("#policy-table", "timeout-web", "Dataplane")
        self.driver.find_element(By.LINK_TEXT, "timeout-web").click()
        yaml = self.wait_text("#policy-yaml", "type: MeshTimeout", "name: timeout-web", "idleTimeout: 20s",
                              "app: web")
        self.assertIn("kind: Dataplane", yaml)
        self.wait_text("#policy-dp-table", "web-1")
        self.assertNotIn("backend-1", self.driver.find_element(By.ID, "policy-dp-table").text)
        self.shot("policy.png")
        # Live refresh: a policy created now shows up without a reload.
        self.open("/meshes/default/policies/meshtimeouts")
        self.wait_text("#policy-table", "timeout-web")
        marker = self.driver.execute_script("window.__noReload = 1; return window.__noReload;")
        self.assertEqual(marker, 1)
        late = dict(POLICIES[0], name="timeout-late")
        self.assertIn(http("PUT", self.api + "/meshes/default/meshtimeouts/timeout-late", late)[0], (200, 201))
        self.wait_text("#policy-table", "timeout-late", timeout=15)
        self.assertEqual(self.driver.execute_script("return window.__noReload;"), 1)

    def test_08_control_plane(self):
        self.open("/control-plane")
        info = self.wait_text("#cp-info", "Version", "2.14", "memory", "leader")
        self.assertIn("Instance", info)
        self.wait_text("#cp-config", "apiServer:", "gui:", "basePath: /gui")
        self.shot("control-plane.png")

    def test_09_errors_are_shown(self):
        self.open("/meshes/no-such-mesh")
        text = self.wait_text(".error", "Could not read mesh no-such-mesh", "404")
        self.assertIn("GET /meshes/no-such-mesh", text)
        self.open("/meshes/default/data-planes?tag=nocolon")  # any answer: the page must not break
        self.wait_text("#dp-list", "")
        self.open("/no/such/page")
        self.wait_text("h1", "Not found")
        self.assertEqual(self.js_errors(), [])

    def test_10_disabled_gui_is_404(self):
        cp, ports = start_kuma_cp(os.path.join(self.tmp, "cp-nogui"), {"KUMA_API_SERVER_GUI_ENABLED": "false"})
        self.procs.append(cp)
        api = f"http://127.0.0.1:{ports['api']}"
        self.assertEqual(http("GET", api + "/gui/")[0], 404)
        self.assertEqual(http("GET", api + "/gui/assets/js/app.js")[0], 404)
        self.assertEqual(json.loads(http("GET", api + "/")[2])["gui"], "")


if __name__ == "__main__":
    unittest.main(verbosity=2)
