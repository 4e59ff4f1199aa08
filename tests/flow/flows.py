"""Workflows the flow tests run (through the real CLI, on the local engine)."""

from __future__ import annotations

import os
import time
from typing import NamedTuple

import podtask
from podtask.sdk.tasks import inputs, outputs, python_task
from podtask.sdk.types import Types

# Where tasks leave marks on the host (hostPath volume): set by the tests.
MARKS = os.environ.get("FLOW_TEST_MARKS", "/tmp/podtask-flow-marks")


def sidecar_pod() -> podtask.Pod:
    """A pod whose sidecar never exits: the node ends only because the primary decides."""
    return podtask.Pod(
        spec={
            "containers": [
                {"name": "primary", "volumeMounts": [{"name": "marks", "mountPath": "/marks"}]},
                {
                    "name": "helper",
                    "image": "alpine",
                    # the marks path on the command line lets a test find this process;
                    # the trap: as PID 1 of its namespace, sh would ignore SIGTERM
                    "command": [
                        "/bin/sh",
                        "-c",
                        f"trap 'kill $!; exit 0' TERM; sleep 1000 & wait  # {MARKS}",
                    ],
                },
            ],
            "volumes": [{"name": "marks", "hostPath": {"path": MARKS}}],
        },
        primary_container="primary",
    )


def mark(name: str) -> None:
    with open(f"/marks/{name}", "a") as f:
        f.write(f"{time.time()}\n")


@podtask.task(pod=sidecar_pod())
def a(x: int) -> int:
    return x + 1


@podtask.task(pod=sidecar_pod())
def b(v: int) -> int:
    print(f"b got {v}", flush=True)
    time.sleep(1.0)
    return v * 2


@podtask.task(pod=sidecar_pod())
def c(v: int) -> int:
    time.sleep(1.0)
    return v * 3


@podtask.task(pod=sidecar_pod())
def d(left: int, right: int) -> int:
    return left + right


@podtask.workflow
def diamond(x: int) -> int:
    top = a(x=x)
    return d(left=b(v=top), right=c(v=top))


@podtask.task
def square(n: int) -> int:
    return n * n


@podtask.task
def numbers(count: int) -> list[int]:
    return list(range(count))


@podtask.task
def total(values: list[int]) -> int:
    return sum(values)


@podtask.workflow
def squares(count: int = 100) -> int:
    return total(values=podtask.map(square, concurrency=10)(n=numbers(count=count)))


@podtask.task
def square_some_fail(n: int) -> int:
    if n in (7, 42, 99):
        raise ValueError(f"element {n} fails on purpose")
    return n * n


@podtask.workflow
def tolerant(count: int = 100) -> int:
    sq = podtask.map(square_some_fail, concurrency=10, min_success_ratio=0.9)
    return total(values=sq(n=numbers(count=count)))


@podtask.workflow
def strict(count: int = 100) -> int:
    sq = podtask.map(square_some_fail, concurrency=10, min_success_ratio=1.0)
    return total(values=sq(n=numbers(count=count)))


@podtask.task
def boom(v: int) -> int:
    raise RuntimeError(f"boom at {v}")


@podtask.task(pod=sidecar_pod())
def slow_mark(v: int, name: str) -> int:
    time.sleep(1.5)
    mark(name)
    return v


@podtask.task
def after(v: int) -> int:
    return v + 100


@podtask.workflow
def one_fails(x: int) -> int:
    top = a(x=x)
    failed = boom(v=top)
    other = slow_mark(v=top, name="independent")
    after(v=other)
    return d(left=failed, right=other)


@podtask.task(pod=sidecar_pod(), cache=True, cache_version=os.environ.get("FLOW_CACHE_V", "1"))
def expensive(v: int) -> int:
    mark("expensive")
    return v * 10


@podtask.workflow
def cached(x: int) -> int:
    return a(x=expensive(v=x))


class Pair(NamedTuple):
    first: int
    second: int


@podtask.task(pod=sidecar_pod())
def wait_gate(v: int) -> int:
    mark("gate-started")
    while not os.path.exists("/marks/gate-open"):
        time.sleep(0.05)
    return v + 5


@podtask.workflow
def resumable(x: int) -> Pair:
    first = a(x=x)
    return first, wait_gate(v=first)


@inputs(word=Types.String)
@outputs(shout=Types.String, size=Types.Integer)
@python_task
def legacy_shout(wf_params, word, shout, size):  # type: ignore[no-untyped-def]
    shout.set(word.upper())
    size.set(len(word))


@podtask.workflow
def inner(x: int) -> int:
    return a(x=x)


@podtask.workflow
def mixed(word: str) -> tuple[str, int]:
    """Both API styles, and a sub-workflow, as nodes of one workflow."""
    r = legacy_shout(word=word)
    return r.shout, inner(x=r.size)


@podtask.task(pod=sidecar_pod())
def gated_element(v: int) -> int:
    if v >= 2:
        mark("gate-started")
        while not os.path.exists("/marks/gate-open"):
            time.sleep(0.05)
    mark(f"ran-{v}")
    return v * 10


@podtask.workflow
def gated_map(count: int = 5) -> int:
    return total(values=podtask.map(gated_element, concurrency=2)(v=numbers(count=count)))
