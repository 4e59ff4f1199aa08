"""Where the time of one local run goes: a timeline of ``podtask run`` by phase.

    python bench/breakdown.py [--repeat N] [--python PY] [FILE TASK]

Default: ``bench/handoff_task.py handoff``, the pod bench/bench_floor.py times.
Each run is a fresh child process (a scratch PODTASK_HOME, bytecode allowed)
that wraps a fixed list of podtask functions with wall-clock timers before it
calls the CLI; the pod's processes are forks of it, so the wrappers time the
supervisor and the primary's entrypoint too. Container start and exit times
come from the run's own ``events.jsonl`` (podinit's clock). Prints, per phase,
the median over the runs of its duration, and of its start after the child was
spawned, so the phases add up to the
wall clock. Imports are not a phase of their own here: ``python -X importtime``
says which modules cost what; this says when the run got to each point.
Asserts nothing. Needs root on Linux (the local engine's namespaces).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent

# (label, module, qualified name): wrapped in the child, in every module that
# holds the same function object under that name (``from x import f`` copies).
PHASES = [
    ("cli: load the task file", "podtask._authoring", "load_file"),
    ("cli: workflow check", "podtask.cli.flow_cmd", "run_workflow_if_named"),
    ("run: Runner.run (all below)", "podtask._run.runner", "Runner.run"),
    ("engine: prepare (plan + probe check)", "podtask.engines.local.engine", "LocalEngine.prepare"),
    ("engine: run_attempt (all below)", "podtask.engines.local.engine", "LocalEngine.run_attempt"),
    ("engine: sweep stale work dirs", "podtask.engines.local.workdirs", "sweep_stale_work_dirs"),
    ("engine: make work dir", "podtask.engines.local.workdirs", "make_work_dir"),
    ("sandbox: start podinit (fork + ready)", "podtask.engines.local.sandbox", "PodSandbox.start"),
    ("kubelet: drive the pod to a verdict", "podtask.engines._kubelet.attempt", "run_attempt"),
    ("sandbox: close (stop podinit, rmtree)", "podtask.engines.local.sandbox", "PodSandbox.close"),
    ("records: write_atomic (each file)", "podtask._storage.atomic", "write_atomic"),
    ("records: append_event (each line)", "podtask._storage.rundir", "RunDir.append_event"),
    ("records: sqlite create", "podtask._storage.records", "RunStore.create"),
    ("records: sqlite update", "podtask._storage.records", "RunStore.update"),
    ("records: sqlite set_container", "podtask._storage.records", "RunStore.set_container"),
    ("cli: stop the log follower", "podtask._run.follow", "LogFollower.stop"),
    ("cli: print the result (finish_run)", "podtask.cli.run_cmd", "finish_run"),
    ("cli: the run command (all of it)", "podtask.cli.run_cmd", "run_command.callback"),
    ("podinit: start a container (fork)", "podtask.engines.local.podinit", "Supervisor.start"),
    ("container: build its root (mounts)", "podtask.engines.local.podinit", "build_root"),
    ("kubelet: send the start ops", "podtask.engines.local.engine", "SandboxRuntime.start"),
    ("primary: entrypoint main", "podtask.entrypoint", "main"),
    ("primary: load the task", "podtask._authoring", "load_task"),
    ("primary: run_task (inputs, call, outputs)", "podtask.entrypoint.runner", "run_task"),
]

_CHILD = r"""
import functools, importlib, os, sys, time
out = os.environ["BREAKDOWN_OUT"]
phases = __PHASES__

def wrap(label, fn):
    @functools.wraps(fn)
    def timed(*a, **k):
        t0 = time.time()
        # Opened before the call: a container's root changes inside build_root, and
        # a path opened after that would land in the container's overlay.
        fd = os.open(out, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            return fn(*a, **k)
        finally:
            line = f"BREAKDOWN\t{label}\t{t0}\t{time.time()}\n".encode()
            os.write(fd, line)
            os.close(fd)
            # The primary's root is its container's already when it is called, so
            # the file above is in its overlay: stderr (its log file) carries it.
            os.write(2, line)
    return timed

# Import what the run path imports anyway, so the functions exist to be wrapped.
for mod in ("podtask.cli.run_cmd", "podtask.cli.flow_cmd", "podtask._run.runner",
            "podtask.engines.local.engine", "podtask.engines.local.podinit",
            "podtask.entrypoint", "podtask.entrypoint.runner", "podtask._authoring"):
    importlib.import_module(mod)
for label, modname, qual in phases:
    owner = importlib.import_module(modname)
    *path, name = qual.split(".")
    for part in path:
        owner = getattr(owner, part)
    original = getattr(owner, name)
    timed = wrap(label, original)
    setattr(owner, name, timed)
    if not path:  # also where it was imported by name
        for m in list(sys.modules.values()):
            if getattr(m, name, None) is original:
                setattr(m, name, timed)
from podtask.cli.main import main
sys.argv = ["podtask", *sys.argv[1:]]
main()  # as the program does: no arguments given
"""


def one_run(python: str, file: str, task: str, home: str) -> dict[str, tuple[float, float]]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    out = os.path.join(home, "breakdown.tsv")
    with open(out, "w"):
        pass
    env.update(PODTASK_HOME=home, BREAKDOWN_OUT=out)
    code = _CHILD.replace("__PHASES__", repr([(lbl, m, q) for lbl, m, q in PHASES]))
    t_spawn = time.time()
    proc = subprocess.Popen(
        [python, "-c", code, "run", file, task],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    rc = proc.wait()
    t_end = time.time()
    start = t_spawn
    if rc != 0:
        raise SystemExit(f"podtask run failed (exit {rc})")
    spans: dict[str, tuple[float, float]] = {}
    sums: dict[str, float] = {}
    firsts: dict[str, float] = {}
    runs = sorted(Path(home, "runs").iterdir(), key=os.path.getmtime)
    primary_log = (runs[-1] / "logs" / "primary.log").read_text().splitlines()
    for line in Path(out).read_text().splitlines() + primary_log:
        if not line.startswith("BREAKDOWN\t"):
            continue
        _, label, t0, t1 = line.split("\t")
        a, b = float(t0), float(t1)
        sums[label] = sums.get(label, 0.0) + (b - a)
        firsts[label] = min(firsts.get(label, a), a)
    for label, total in sums.items():
        spans[label] = (firsts[label] - start, total)
    events = [json.loads(x) for x in (runs[-1] / "events.jsonl").read_text().splitlines()]
    for ev in events:
        if ev.get("event") in ("started", "exited"):
            spans[f"pod: {ev['container']} {ev['event']} (event time)"] = (ev["time"] - start, 0.0)
        if ev.get("event") == "end":
            spans["pod: run ended (event time)"] = (ev["time"] - start, 0.0)
    spans["process: whole run, spawn -> reaped"] = (0.0, t_end - start)
    return spans


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("file", nargs="?", default=str(BENCH_DIR / "handoff_task.py"))
    p.add_argument("task", nargs="?", default="handoff")
    p.add_argument("--repeat", type=int, default=7)
    p.add_argument("--python", default=sys.executable)
    args = p.parse_args()
    print(f"load average: {os.getloadavg()[0]:.2f} (cpus: {os.cpu_count()})")
    all_spans: list[dict[str, tuple[float, float]]] = []
    with tempfile.TemporaryDirectory(prefix="podtask-breakdown-") as home:
        one_run(args.python, args.file, args.task, home)  # warm-up: bytecode, page cache
        for _ in range(args.repeat):
            all_spans.append(one_run(args.python, args.file, args.task, home))
    labels = sorted({k for s in all_spans for k in s}, key=lambda k: _median(all_spans, k, 0))
    print(f"{'phase':58} {'at (ms)':>8} {'took (ms)':>10}   (median of {args.repeat}; took:")
    print(f"{'':58} {'':8} {'':10}    all calls of a run, e.g. both containers' roots)")
    for label in labels:
        at, took = _median(all_spans, label, 0), _median(all_spans, label, 1)
        print(f"{label:58} {at * 1000:8.1f} {took * 1000 if took else float('nan'):10.1f}")
    return 0


def _median(spans: list[dict[str, tuple[float, float]]], label: str, i: int) -> float:
    values = [s[label][i] for s in spans if label in s]
    return statistics.median(values) if values else 0.0


if __name__ == "__main__":
    sys.exit(main())
