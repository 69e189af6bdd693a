"""How long `caspr demo` takes from a cold cache: the README's first command (issue 17).

Runs the demo in a child process with an empty cache folder, as a new user would, and prints
the wall time, the CPU time it used (user + system, children included) and the machine's
load average, since on a shared machine the wall time is mostly waiting for a core.

    .venv/bin/python bench/bench_demo.py [ACCOUNTS ...]      # default: the demo's own size
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time

from caspr.demo import DEFAULT_ACCOUNTS


def run(accounts: int) -> str:
    """One cold run at ``accounts``; the result line."""
    with tempfile.TemporaryDirectory(prefix="caspr-demo-bench-") as cache:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        load = os.getloadavg()[0]
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "caspr.cli.main", "demo", "--accounts", str(accounts), "--cache", cache],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return (
        f"demo --accounts {accounts:,}: {wall:.1f} s wall, {cpu:.1f} s CPU "
        f"(load average {load:.1f} at the start, {os.getloadavg()[0]:.1f} at the end, {os.cpu_count()} cores)"
    )


def main() -> None:
    """Each size given (default: the demo's default), cold cache each time."""
    sizes = [int(a) for a in sys.argv[1:]] or [DEFAULT_ACCOUNTS]
    for accounts in sizes:
        print(run(accounts), flush=True)


if __name__ == "__main__":
    main()
