"""Tasks and workflows that bench/bench_flow.py runs: trivial bodies, so podtask's costs show."""

from __future__ import annotations

import podtask


@podtask.task
def step(v: int) -> int:
    return v + 1


@podtask.workflow
def chain(v: int = 0) -> int:
    """Five nodes one after the other: the workflow's per-node overhead."""
    return step(v=step(v=step(v=step(v=step(v=v)))))


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
def fan(count: int = 100) -> int:
    return total(values=podtask.map(square)(n=numbers(count=count)))


@podtask.task(cache=True, cache_version="1")
def cached_step(v: int) -> int:
    return v + 1


@podtask.workflow
def cached_chain(v: int = 0) -> int:
    """The chain again, every node cached: a re-run starts no pod."""
    return cached_step(v=cached_step(v=cached_step(v=cached_step(v=cached_step(v=v)))))
