#!/usr/bin/env python3
"""Runs the libFuzzer targets of the fuzz flavour, one at a time (docs/fuzzing.md).

Each target runs for --seconds on its seed corpus (test/fuzz/corpus/<target>, read only) plus a
work corpus in <work-dir>/corpus/<target> where libFuzzer keeps what it finds; crashes, leaks,
timeouts and out-of-memory inputs land in <work-dir>/artifacts/<target>/. Prints one line per
target (executions, executions per second, coverage, corpus size) and exits 1 if any failed.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Largest input each target tries; sized to its seeds (a resource or config file is a few KiB).
MAX_LEN = {
    "go_duration_fuzz": 128,
    "rest_codec_fuzz": 8192,
    "resource_validation_fuzz": 8192,
    "config_loader_fuzz": 8192,
    "dataplane_token_fuzz": 4096,
    "bootstrap_request_fuzz": 8192,
    "node_metadata_fuzz": 8192,
    "dns_message_fuzz": 4097,
    "go_template_fuzz": 4097,
}

# libFuzzer flags common to every run: an input taking over 10 s is a hang; 2 GiB of RSS (the
# machine is shared) is an out-of-memory finding.
COMMON_FLAGS = ["-timeout=10", "-rss_limit_mb=2048", "-print_final_stats=1", "-reload=0"]

# handle_abort: a stack trace for aborts too (uncaught exceptions, FUZZ_CHECK).
SANITIZER_ENV = {
    "ASAN_OPTIONS": "detect_leaks=1:handle_abort=1:symbolize=1",
    "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1",
    "LSAN_OPTIONS": "suppressions=" + os.path.join(ROOT, "test/sanitizers/lsan.supp"),
}
# Stack traces with function names and lines need llvm-symbolizer (Debian's llvm-NN packages).
# ASan wants the real binary, not Debian's /usr/bin symlink.
SYMBOLIZER = shutil.which("llvm-symbolizer-16") or shutil.which("llvm-symbolizer")
SYMBOLIZER = os.path.realpath(SYMBOLIZER) if SYMBOLIZER else None


def parse_stats(log):
    stats = {}
    for key in ("number_of_executed_units", "average_exec_per_sec", "peak_rss_mb",
                "new_units_added"):
        m = re.search(r"stat::%s:\s+(\d+)" % key, log)
        if m:
            stats[key] = int(m.group(1))
    # The last status line: "#N <event> cov: C ft: F corp: U/S ..."
    for line in reversed(log.splitlines()):
        m = re.match(r"#(\d+)\s+\S+\s+cov: (\d+) ft: (\d+) corp: (\d+)/(\S+)", line)
        if m:
            stats["cov"] = int(m.group(2))
            stats["ft"] = int(m.group(3))
            stats["corpus"] = int(m.group(4))
            stats["corpus_size"] = m.group(5)
            break
    return stats


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--bin-dir", required=True)
    p.add_argument("--work-dir", required=True)
    p.add_argument("--corpus-root", default=os.path.join(ROOT, "test/fuzz/corpus"))
    p.add_argument("--dict-root", default=os.path.join(ROOT, "test/fuzz/dict"))
    p.add_argument("--seconds", type=int, default=30)
    p.add_argument("--targets", nargs="*", help="target names (default: every *_fuzz binary)")
    p.add_argument("--fresh", action="store_true",
                   help="start from the seed corpus only (empty the work corpus first)")
    p.add_argument("--fuzzer-args", default="", help="extra libFuzzer flags")
    args = p.parse_args()
    args.bin_dir = os.path.abspath(args.bin_dir)
    args.work_dir = os.path.abspath(args.work_dir)

    available = sorted(f for f in os.listdir(args.bin_dir) if f.endswith("_fuzz"))
    targets = available
    if args.targets:
        targets = [t if t.endswith("_fuzz") else t + "_fuzz" for t in args.targets]
        unknown = [t for t in targets if t not in available]
        if unknown:
            print("unknown fuzz targets: %s (have: %s)" % (" ".join(unknown), " ".join(available)))
            return 2
    if not targets:
        print("no fuzz targets in %s" % args.bin_dir)
        return 2

    env = dict(os.environ)
    for k, v in SANITIZER_ENV.items():
        env.setdefault(k, v)
    if SYMBOLIZER:
        env.setdefault("ASAN_SYMBOLIZER_PATH", SYMBOLIZER)
        env.setdefault("UBSAN_SYMBOLIZER_PATH", SYMBOLIZER)
    results = []
    started = time.monotonic()
    for target in targets:
        seeds = os.path.join(args.corpus_root, target)
        work = os.path.join(args.work_dir, "corpus", target)
        artifacts = os.path.join(args.work_dir, "artifacts", target) + "/"
        log_path = os.path.join(args.work_dir, "logs", target + ".log")
        if args.fresh:
            shutil.rmtree(work, ignore_errors=True)
        for d in (work, artifacts, os.path.dirname(log_path)):
            os.makedirs(d, exist_ok=True)
        cmd = [os.path.join(args.bin_dir, target), "-max_total_time=%d" % args.seconds,
               "-max_len=%d" % MAX_LEN.get(target, 4096), "-artifact_prefix=" + artifacts]
        cmd += COMMON_FLAGS
        dictionary = os.path.join(args.dict_root, target + ".dict")
        if os.path.exists(dictionary):
            cmd.append("-dict=" + dictionary)
        cmd += args.fuzzer_args.split()
        cmd += [work, seeds]
        t0 = time.monotonic()
        with open(log_path, "w") as log:
            log.write(" ".join(cmd) + "\n")
            log.flush()
            rc = subprocess.call(cmd, stdout=log, stderr=subprocess.STDOUT, env=env,
                                 cwd=args.work_dir)
        elapsed = time.monotonic() - t0
        with open(log_path, errors="replace") as log:
            text = log.read()
        stats = parse_stats(text)
        results.append((target, rc, elapsed, stats))
        status = "ok" if rc == 0 else "FAILED (exit %d)" % rc
        print("%-26s %5.0fs  %10s execs  %7s exec/s  cov %5s  ft %6s  corpus %5s (%s)  rss %4s MB  %s"
              % (target, elapsed, stats.get("number_of_executed_units", "?"),
                 stats.get("average_exec_per_sec", "?"), stats.get("cov", "?"),
                 stats.get("ft", "?"), stats.get("corpus", "?"), stats.get("corpus_size", "?"),
                 stats.get("peak_rss_mb", "?"), status), flush=True)
        if rc != 0:
            print("---- %s (last lines; whole log: %s)" % (target, log_path))
            print("\n".join(text.splitlines()[-80:]))
            print("---- artifacts: %s" % artifacts, flush=True)
    failed = [r for r in results if r[1] != 0]
    print("fuzz: %d targets in %.0fs" % (len(results), time.monotonic() - started))
    print("%d passed, %d failed" % (len(results) - len(failed), len(failed)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
