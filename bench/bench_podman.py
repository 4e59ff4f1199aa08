"""The podman engine against the raw podman cycle of the same seed pod.

    python bench/bench_podman.py [--repeat N] [--python PY]

Raw: ``bench/podman_raw_cycle.sh N`` (``kube play`` + ``podman wait`` on the primary +
teardown), once with ``kube down`` (its default) and once with ``pod stop -t 0`` +
``pod rm`` (PODTASK_BENCH_TEARDOWN=stop-rm, the fast teardown without the
pod-cgroup stall). podtask: ``podtask run --engine podman --grace 0 --json`` of a
task with the very same pod (primary polling every 0.05 s for the file the
``alpine`` sidecar writes into a Memory emptyDir, then ``sleep infinity``), so
both sides stop the sidecar with no grace. The podtask figure is the whole CLI:
interpreter start, compile, records, image check, play, start, wait, logs,
teardown; the engine figure is play .. pod removed, read from the run's events
(its primary is podtask's entrypoint rather than a bare ``python3 -c`` loop).
Prints medians and the ratios; asserts nothing. Needs the images of
``.ci/setup-podman.sh --images``. Uses a scratch PODTASK_HOME, removed at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
RAW = BENCH_DIR / "podman_raw_cycle.sh"

TASK = """
import os, time
import podtask

SPEC = {
    "containers": [
        {"name": "primary", "volumeMounts": [{"name": "shared-data", "mountPath": "/data"}]},
        {
            "name": "secondary",
            "image": "alpine",
            "command": ["/bin/sh"],
            "args": ["-c", "echo hi sidecar world > /data/message.txt; exec sleep infinity"],
            "volumeMounts": [{"name": "shared-data", "mountPath": "/data"}],
        },
    ],
    "volumes": [{"name": "shared-data", "emptyDir": {"medium": "Memory"}}],
}


@podtask.task(pod=podtask.Pod(spec=SPEC, primary_container="primary"))
def seed() -> str:
    while not os.path.isfile("/data/message.txt"):
        time.sleep(0.05)
    return open("/data/message.txt").read().strip()
"""


def raw_median(n: int, teardown: str) -> float:
    env = {**os.environ, "PODTASK_BENCH_TEARDOWN": teardown}
    out = subprocess.run(
        ["bash", str(RAW), str(n)], capture_output=True, text=True, env=env, check=True
    ).stdout
    print(out.rstrip())
    m = re.search(r"median wall seconds over \d+ runs: ([0-9.]+)", out)
    if m is None:
        raise SystemExit(f"cannot read the median from {RAW.name}:\n{out}")
    return float(m.group(1))


def engine_seconds(run_dir: str) -> float:
    """Play to removal, from the run's events: the engine alone, without CLI and records."""
    times: dict[str, float] = {}
    for line in (Path(run_dir) / "events.jsonl").read_text().splitlines():
        event = json.loads(line)
        if event.get("event") in ("pod-create", "pod-removed"):
            times[event["event"]] = float(event["time"])
    return times["pod-removed"] - times["pod-create"]


def podtask_runs(python: str, n: int) -> tuple[list[float], list[float]]:
    scratch = Path(tempfile.mkdtemp(prefix="podtask-bench-podman-"))
    try:
        task = scratch / "seed_pod.py"
        task.write_text(TASK)
        env = {**os.environ, "PODTASK_HOME": str(scratch / "home")}
        cmd = [python, "-m", "podtask", "run", str(task), "seed", "--engine", "podman"]
        cmd += ["--grace", "0", "--json"]
        times: list[float] = []
        engine: list[float] = []
        print(f"{'run':>4} {'total':>7} {'engine':>7}")
        for i in range(n + 1):  # one warm-up first
            t0 = time.perf_counter()
            r = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
            wall = time.perf_counter() - t0
            doc = json.loads(r.stdout or "{}")
            if r.returncode != 0 or doc.get("outputs") != {"o0": "hi sidecar world"}:
                raise SystemExit(f"podtask run failed (rc={r.returncode}):\n{r.stderr}")
            if i:
                times.append(wall)
                engine.append(engine_seconds(doc["run_dir"]))
                print(f"{i:>4} {wall:7.2f} {engine[-1]:7.2f}")
        return times, engine
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=5, help="measured runs per side (default 5)")
    p.add_argument("--python", default=sys.executable, help="interpreter with podtask installed")
    args = p.parse_args()
    if shutil.which("podman") is None:
        raise SystemExit("podman is not installed: run .ci/setup-podman.sh --images")
    print("== raw podman, teardown kube down")
    down = raw_median(args.repeat, "down")
    print("== raw podman, teardown pod stop -t 0 + pod rm")
    stop_rm = raw_median(args.repeat, "stop-rm")
    print("== podtask run --engine podman --grace 0")
    ours, engine = podtask_runs(args.python, args.repeat)
    med, eng = statistics.median(ours), statistics.median(engine)
    print()
    print(f"{'median seconds':<46} {'':>6} {'vs raw down':>12} {'vs raw stop-rm':>15}")
    print(f"{'raw cycle, kube down':<46} {down:6.2f}")
    print(f"{'raw cycle, pod stop -t 0 + pod rm':<46} {stop_rm:6.2f}")
    print(f"{'podtask run --engine podman (whole CLI)':<46} {med:6.2f}", end="")
    print(f" {med / down:11.2f}x {med / stop_rm:14.2f}x")
    print(f"{'  of which the engine (play .. pod removed)':<46} {eng:6.2f}", end="")
    print(f" {eng / down:11.2f}x {eng / stop_rm:14.2f}x")
    print("aim: <= 1.1x the raw cycle")


if __name__ == "__main__":
    main()
