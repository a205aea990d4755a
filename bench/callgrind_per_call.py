#!/usr/bin/env python3
"""Instructions (Ir) per call of the functions whose name matches a regex, from a callgrind
output file: the sum over every call site of the inclusive cost, divided by the sum of the
`calls=` counts. Unlike benchmark times, the figures do not move with the machine's load.

    valgrind --tool=callgrind --callgrind-out-file=cg.out ./build/bin/kuma-bench-xds \\
        --benchmark_filter='generate_proxy/tp_all/services:1000$' --benchmark_min_time=3
    python3 bench/callgrind_per_call.py cg.out '^kuma::xds::generate\\('
"""
import re
import sys


def per_call(path, pattern):
    names, calls, cost = {}, {}, {}
    callee, pending = None, None
    with open(path) as f:
        for line in f:
            if line.startswith(("fn=", "cfn=")):
                m = re.match(r"c?fn=\((\d+)\)(?: (.*))?", line.strip())
                if m.group(2):
                    names[m.group(1)] = m.group(2)
                if line.startswith("cfn="):
                    callee = m.group(1)
            elif line.startswith("calls="):
                pending = (callee, int(line.split()[0][len("calls="):]))
            elif pending is not None:
                parts = line.split()
                fid, n = pending
                calls[fid] = calls.get(fid, 0) + n
                cost[fid] = cost.get(fid, 0) + (int(parts[1]) if len(parts) > 1 else 0)
                pending = None
    for fid, n in sorted(calls.items(), key=lambda kv: -cost[kv[0]]):
        if pattern.search(names.get(fid, "")):
            yield names[fid], n, cost[fid] / n


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    for name, n, ir in per_call(sys.argv[1], re.compile(sys.argv[2])):
        print(f"{n:10d} calls {ir / 1e6:12.3f} M Ir/call  {name[:120]}")


if __name__ == "__main__":
    main()
