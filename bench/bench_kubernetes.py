"""Many concurrent runs through the kubernetes engine against the test API server.

``python bench/bench_kubernetes.py [N]`` (default 500): N runs started at once
from threads in one process, all fed by the engine's single watch.  Prints
wall time, peak memory (RSS of this process, and of the whole machine's
pods), and the API requests per run by verb, from the server's counters.

The pods are real local pods (two processes each: the primary interpreter and
a sleeping sidecar), so on a small machine N is bounded by processes, not by
the API traffic; ``--pods-per-wave`` caps how many run at once while all N
runs (and their watch subscriptions) are in flight together.
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
TASKS = HERE.parent / "tests" / "kubernetes" / "tasks" / "k8s_tasks.py"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("runs", nargs="?", type=int, default=500)
    parser.add_argument("--pods-per-wave", type=int, default=0, help="0: all at once")
    args = parser.parse_args()
    os.environ.setdefault("PODTASK_HOME", tempfile.mkdtemp(prefix="podtask-bench-home-"))

    from podtask._run import Runner, RunOptions
    from podtask.engines.kubernetes.client import _CLUSTERS
    from podtask.engines.kubernetes.engine import KubernetesEngine
    from podtask.testing.apiserver import ApiServer

    with ApiServer.start(version="v1.30.0") as srv:
        engine = KubernetesEngine(kubeconfig=str(srv.kubeconfig_path))
        gate = threading.Semaphore(args.pods_per_wave or args.runs)
        results: list[Any] = []
        errors: list[str] = []
        lock = threading.Lock()

        def one(i: int) -> None:
            with gate:
                try:
                    r = Runner(
                        str(TASKS),
                        "greet",
                        RunOptions(engine=engine, inputs={"name": f"r{i}"}, sidecar_mode="native"),
                    ).run()
                    with lock:
                        results.append(r)
                except Exception as exc:
                    with lock:
                        errors.append(f"{type(exc).__name__}: {exc}")

        srv.reset_requests()
        started = time.monotonic()
        threads = [threading.Thread(target=one, args=(i,)) for i in range(args.runs)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.monotonic() - started
        counts = srv.requests
        watchers = [w for c in _CLUSTERS.values() for w in c.watchers.values()]
        ok = sum(1 for r in results if r.phase == "SUCCEEDED")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        failed = len(results) - ok
        print(f"runs: {args.runs}  succeeded: {ok}  failed: {failed}  errors: {len(errors)}")
        for e in sorted(set(errors))[:5]:
            print(f"  error: {e}")
        print(f"wall: {wall:.1f}s  ({args.runs / wall:.1f} runs/s)")
        print(f"peak RSS of the podtask process (incl. the in-process test server): {peak:.0f} MiB")
        print("API requests per run by verb:")
        for verb, n in sorted(counts.items()):
            if n:
                print(f"  {verb:8s} {n:6d}  {n / args.runs:.3f}/run")
        print(
            f"watch connections opened: {counts.get('watch', 0)}; watcher stats: "
            f"{[w.stats for w in watchers]}"
        )


if __name__ == "__main__":
    main()
