"""What the benchmark scripts write about a run without naming this machine's paths.

A Kuma binary under $ORACLE (the directory the reference binaries were built into, see
docs/conformance.md) is written as `$ORACLE/...`, so that the results and the printed command
can be pasted on another machine.

    portable_path("/home/me/kuma/bin/kuma-cp")  # "$ORACLE/bin/kuma-cp" with ORACLE=/home/me/kuma
    portable_command()                          # "python3 bench/x.py --baseline-cp $ORACLE/..."
"""
import os
import shlex
import sys


def portable_path(path):
    """`path` with $ORACLE's directory written as `$ORACLE` (unchanged outside it or unset)."""
    oracle = os.environ.get("ORACLE")
    if not oracle or not path:
        return path
    base = os.path.abspath(oracle)
    absolute = os.path.abspath(path)
    if absolute == base or absolute.startswith(base + os.sep):
        return "$ORACLE" + absolute[len(base):]
    return path


def portable_command():
    """This run's command line as a user would type it (no interpreter, $ORACLE paths)."""
    words = ["python3"] + [portable_path(a) if os.sep in a else a for a in sys.argv]
    # `$ORACLE` stays unquoted so that the line runs as it reads.
    return " ".join(w if w.startswith("$ORACLE") and shlex.quote(w[1:]) == w[1:]
                    else shlex.quote(w) for w in words)
