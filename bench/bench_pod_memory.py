"""Memory of many local pods at once: PSS per pod while all of them run.

    python bench/bench_pod_memory.py [--concurrency N] [--python PY]

Starts N (default 100) ``podtask run bench/hold_task.py hold`` at once: the
handoff pod, whose primary, once it has the sidecar's file, waits to be
released. When every primary is up, the script reads ``/proc/PID/smaps_rollup``
of every process and sums PSS per pod (the pod supervisor ``podinit`` and
everything under it: the primary, the sidecar's ``sh`` and ``sleep``) and per
``podtask run`` process (the CLI that drives the pod). PSS splits a page shared
by several processes between them, so the sums add up to what the runs cost
the machine. Then it releases the pods and checks that every run succeeded.
Asserts nothing. Needs root on Linux. Runs use a scratch PODTASK_HOME.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import (
    BENCH_DIR,
    _descendants,
    _pss_kb,
    base_parser,
    podtask_cli,
    print_context,
    process_children,
    remove,
    scratch_dir,
)

AIM_MB = 10.0  # PSS per pod, issue 15


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def sample(clis: list[int]) -> tuple[list[int], list[int], int]:
    """PSS (kB) per pod, per CLI process, and how many pods were found."""
    kids = process_children()
    pods, drivers = [], []
    for cli in clis:
        podinits = [p for p in kids.get(cli, ()) if _comm(p) == "podinit"]
        drivers.append(_pss_kb(cli))
        for podinit in podinits:
            pods.append(sum(_pss_kb(p) for p in [podinit, *_descendants(podinit, kids)]))
    return pods, drivers, len(pods)


def main() -> int:
    parser = base_parser(__doc__ or "", default_repeat=1)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args()
    print_context()
    home = scratch_dir("podtask-bench-mem-")
    sync = Path(tempfile.mkdtemp(prefix="podtask-bench-sync-"))
    env = {**os.environ, "PODTASK_HOME": str(home), "BENCH_SYNC_DIR": str(sync)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # as for an installed package
    cmd = [*podtask_cli(args.python), "run", str(BENCH_DIR / "hold_task.py"), "hold"]
    procs: list[subprocess.Popen[bytes]] = []
    try:
        t0 = time.perf_counter()
        for _ in range(args.concurrency):
            procs.append(
                subprocess.Popen(
                    cmd,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        deadline = time.monotonic() + args.timeout
        while len(list(sync.glob("up-*"))) < args.concurrency:
            if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                break
            time.sleep(0.1)
        up = len(list(sync.glob("up-*")))
        t_up = time.perf_counter() - t0
        samples = [sample([p.pid for p in procs]) for _ in range(3)]
        (sync / "release").touch()
        codes = [p.wait(timeout=args.timeout) for p in procs]
        wall = time.perf_counter() - t0
    finally:
        (sync / "release").touch()
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        remove(home)
        remove(sync)
    pods, drivers, n = max(samples, key=lambda s: sum(s[0]))
    failures = sum(1 for c in codes if c != 0)
    per_pod = statistics.mean(pods) / 1024 if pods else float("nan")
    per_cli = statistics.mean(drivers) / 1024 if drivers else float("nan")
    print(
        f"{args.concurrency} runs: {up} primaries up after {t_up:.1f} s, all done in {wall:.1f} s,"
        f" {failures} failed"
    )
    print(f"pods measured: {n}")
    print(
        f"PSS per pod (podinit + containers): mean {per_pod:.1f} MB, "
        f"median {statistics.median(pods) / 1024 if pods else float('nan'):.1f} MB"
        f"  (aim <= {AIM_MB:.0f} MB: {'met' if per_pod <= AIM_MB else 'not met'})"
    )
    print(f"PSS per podtask run process (the CLI driving the pod): mean {per_cli:.1f} MB")
    print(
        f"PSS per run, CLI and pod: {per_pod + per_cli:.1f} MB;"
        f" all runs: {(sum(pods) + sum(drivers)) / 1024:.0f} MB"
    )
    return 0 if failures == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
