"""Tasks whose runs the UI tests look at: each shows one thing the page must draw."""

import os
import time

import podtask

MARK = os.environ.get("PODTASK_TEST_MARK", "podtask-test")


def pod(*sidecars, grace=None):
    spec = {"containers": [{"name": "primary"}, *sidecars]}
    if grace is not None:
        spec["terminationGracePeriodSeconds"] = grace
    return podtask.Pod(spec=spec)


def sh(name, script):
    return {"name": name, "command": ["/bin/sh", "-c", script]}


@podtask.task(pod=pod(sh("forever", f"sleep 1000; echo {MARK}")))
def sidecar_never_exits() -> str:
    time.sleep(0.3)
    return "done"


@podtask.task(
    pod=pod(sh("stubborn", f"trap '' TERM; while true; do sleep 0.1; done; echo {MARK}"), grace=1)
)
def sidecar_ignores_sigterm() -> None:
    time.sleep(0.3)


@podtask.task(pod=pod(sh("forever", f"sleep 1000; echo {MARK}")))
def primary_raises(x: int = 1) -> int:
    raise ValueError(f"bad value {x}")


@podtask.task(pod=pod(sh("forever", f"sleep 1000; echo {MARK}")))
def slow_counter(lines: int = 8, every: float = 0.5) -> int:
    for i in range(lines):
        print(f"tick {i}", flush=True)
        time.sleep(every)
    return lines


@podtask.task(pod=pod(sh("helper", f"sleep 1000; echo {MARK}")))
def chatty(lines: int = 6000) -> int:
    for i in range(lines):
        print(f"chatty line {i:05d} " + "x" * 60, flush=i % 500 == 0)
    return lines


@podtask.task(retries=1, pod=pod(sh("helper", f"sleep 1000; echo {MARK}")))
def fails_once() -> int:
    attempt = int(os.environ["PODTASK_ATTEMPT"])
    if attempt < 2:
        raise RuntimeError(f"attempt {attempt} fails")
    return attempt
