"""Tasks whose runs the UI tests look at (besides tests/run/tasks/lifecycle_tasks.py's)."""

import os
import time

import podtask

MARK = os.environ.get("PODTASK_TEST_MARK", "podtask-test")
# A sidecar's shell is PID 1 of its container: without a trap it ignores SIGTERM and the
# run waits out the whole grace period, as on a cluster.
FOREVER = "trap 'exit 143' TERM; sleep 1000 & wait"


def pod(*sidecars):
    return podtask.Pod(spec={"containers": [{"name": "primary"}, *sidecars]})


def sh(name, script):
    return {"name": name, "command": ["/bin/sh", "-c", script]}


@podtask.task(pod=pod(sh("forever", f"{FOREVER}; echo {MARK}")))
def slow_counter(lines: int = 8, every: float = 0.5) -> int:
    for i in range(lines):
        print(f"tick {i}", flush=True)
        time.sleep(every)
    return lines


@podtask.task(pod=pod(sh("helper", f"{FOREVER}; echo {MARK}")))
def chatty(lines: int = 6000) -> int:
    for i in range(lines):
        print(f"chatty line {i:05d} " + "x" * 60, flush=i % 500 == 0)
    return lines


@podtask.task(retries=1, pod=pod(sh("helper", f"{FOREVER}; echo {MARK}")))
def fails_once() -> int:
    attempt = int(os.environ["PODTASK_ATTEMPT"])
    if attempt < 2:
        raise RuntimeError(f"attempt {attempt} fails")
    return attempt
