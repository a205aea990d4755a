#!/usr/bin/env python3
"""How fast the GUI's data plane proxies page shows its first page with many proxies (docs/gui.md).

Starts kuma-cp (memory store) on free loopback ports, registers and connects N proxies with
kuma-xds-load (each self-registers over ADS and stays connected), waits until the mesh insight
counts all N online, then opens /gui/meshes/default/data-planes in Debian's headless Chromium
(Selenium from the venv of `make setup-test`) RUNS times and reports, for each load, the time
from navigation start until the table holds the first page of proxies (performance.now() when it
appears), plus the median and the worst.

    python3 bench/gui_proxies_page.py --dataplanes 5000            # a few minutes
"""

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.join(ROOT, "test", "gui"))

import gui_browser_test as g  # noqa: E402  (re-executes under the Selenium venv when needed)
from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

PAGE_JS = """
const rows = document.querySelectorAll('#dp-table tbody tr');
const summary = document.querySelector('#dp-summary');
if (!rows.length) return null;
const nav = performance.getEntriesByType('navigation')[0];
const list = performance.getEntriesByType('resource').find((e) => e.name.includes('/dataplanes/_overview'));
return {rows: rows.length, at: performance.now(), summary: summary && summary.textContent,
        html: nav ? nav.responseEnd : -1, api: list ? [list.startTime, list.responseEnd] : [-1, -1]};
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataplanes", type=int, default=5000)
    ap.add_argument("--services", type=int, default=50)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--ramp-up", default="60s")
    ap.add_argument("--proxies-per-connection", type=int, default=10)
    ap.add_argument("--timeout", type=float, default=400)
    ap.add_argument("--budget-ms", type=float, default=1000, help="exit 1 when the median is above")
    args = ap.parse_args()
    # SIGTERM (timeout, kill) ends the run through `finally`, so that kuma-cp and the load stop too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    work = os.path.join("/tmp", f"kgui-bench-{os.getpid()}")
    procs = []
    driver = None
    try:
        cp, ports = g.start_kuma_cp(os.path.join(work, "cp"))
        procs.append(cp)
        api = f"http://127.0.0.1:{ports['api']}"
        status, _, body = g.http("PUT", api + "/meshes/default", {"type": "Mesh", "name": "default"})
        assert status in (200, 201), body
        ca = os.path.join(work, "cp", "kuma-cp.crt")
        assert g.wait_until(lambda: os.path.exists(ca), 20), "no " + ca
        load_log = os.path.join(work, "load.log")
        load_cmd = [os.path.join(g.BIN, "kuma-xds-load"), "--cp-address", f"127.0.0.1:{ports['dp']}",
                    "--ca-cert-file", ca, "--dataplanes", str(args.dataplanes), "--services", str(args.services),
                    "--reachable-services", "3", "--ramp-up", args.ramp_up,
                    "--proxies-per-connection", str(args.proxies_per_connection), "--progress-interval-ms", "1000",
                    "--timeout", f"{int(args.timeout)}s", "--no-timeline"]
        load = g.Process(load_cmd, {}, load_log)
        procs.append(load)
        t0 = time.monotonic()

        def all_online():
            if not load.alive():
                raise RuntimeError("kuma-xds-load exited:\n" + load.tail())
            status, _, body = g.http("GET", api + "/mesh-insights/default")
            return status == 200 and json.loads(body).get("dataplanes", {}).get("online", 0) >= args.dataplanes
        if not g.wait_until(all_online, args.timeout, 2):
            raise RuntimeError(f"not all {args.dataplanes} proxies online:\n" + load.tail())
        print(f"{args.dataplanes} proxies registered and online in {time.monotonic() - t0:.0f}s")
        total = json.loads(g.http("GET", api + "/meshes/default/dataplanes/_overview?size=1")[2])["total"]
        assert total == args.dataplanes, total

        opts = webdriver.ChromeOptions()
        opts.binary_location = g.CHROMIUM
        for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                  "--window-size=1400,1000", f"--user-data-dir={os.path.join(work, 'chromium')}"):
            opts.add_argument(a)
        driver = webdriver.Chrome(service=Service(executable_path=g.CHROMEDRIVER), options=opts)
        url = api + "/gui/meshes/default/data-planes"
        times = []
        for i in range(args.runs):
            driver.get("about:blank")
            driver.get(url)
            got = WebDriverWait(driver, 30, poll_frequency=0.02).until(lambda d: d.execute_script(PAGE_JS))
            online = driver.execute_script("return document.querySelectorAll('#dp-table .badge.online').length")
            times.append(got["at"])
            print(f"run {i + 1}: first page ({got['rows']} rows, {online} online) at {got['at']:.0f} ms"
                  f" (index.html at {got['html']:.0f} ms, _overview {got['api'][0]:.0f}–{got['api'][1]:.0f} ms)"
                  f" — {got['summary']}")
        med = statistics.median(times)
        print(f"proxies page, {args.dataplanes} proxies: median {med:.0f} ms, worst {max(times):.0f} ms "
              f"over {args.runs} loads (navigation start → first page rendered)")
        return 0 if med <= args.budget_ms else 1
    finally:
        if driver is not None:
            driver.quit()
        for p in reversed(procs):
            p.stop()
        subprocess.run(["rm", "-rf", work], check=False)


if __name__ == "__main__":
    sys.exit(main())
