"""Workflows on the local engine: what a workflow adds over its tasks, fan-out, cached re-runs.

    python bench/bench_flow.py [--repeat N] [--elements N] [--concurrency 1,4,10] [--parts abc]

(a) per-node overhead: ``podtask run bench/flow_tasks.py chain`` (five ``step``
    nodes in a row) against the same five tasks run one by one with
    ``podtask run bench/flow_tasks.py step``; overhead per node =
    (workflow wall - sum of the five single runs) / 5.
(b) a map over --elements elements (default 100) at each --concurrency
    (``--parallel`` set to the same value): total wall and per element.
(c) ``cached_chain`` (five cached nodes): the first run, then a re-run that
    hits the cache for every node and starts no pod.
Each measurement uses a fresh scratch PODTASK_HOME (removed at the end), except
(c)'s re-run, which needs the first run's cache. Wall times are medians (min in
brackets). Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
TASKS = HERE / "flow_tasks.py"


def run(home: Path, *args: str) -> tuple[float, dict[str, object]]:
    start = time.monotonic()
    r = subprocess.run(
        [sys.executable, "-m", "podtask", "run", str(TASKS), *args, "--json"],
        capture_output=True,
        text=True,
        env={**os.environ, "PODTASK_HOME": str(home)},
        check=False,
    )
    wall = time.monotonic() - start
    if r.returncode != 0:
        sys.exit(f"podtask run {' '.join(args)} failed ({r.returncode}):\n{r.stderr}")
    return wall, json.loads(r.stdout)


def fresh() -> Path:
    return Path(tempfile.mkdtemp(prefix="podtask-bench-flow-"))


def fmt(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} s ({min(values):.2f})"


def part_a(repeat: int) -> None:
    flows, singles = [], []
    for _ in range(repeat):
        home = fresh()
        try:
            wall, doc = run(home, "chain", "--v", "0")
            assert doc["outputs"] == {"o0": 5}
            flows.append(wall)
            singles.append(sum(run(home, "step", "--v", str(i))[0] for i in range(5)))
        finally:
            shutil.rmtree(home, ignore_errors=True)
    per_node = [(f - s) / 5 for f, s in zip(flows, singles, strict=True)]
    print("(a) five-node chain vs the same five tasks run one by one")
    print(f"    workflow `chain`:                 {fmt(flows)}")
    print(f"    five `podtask run step`, summed:  {fmt(singles)}")
    print(f"    overhead per node:                {statistics.median(per_node):+.2f} s")


def part_b(repeat: int, elements: int, levels: list[int]) -> None:
    print(f"(b) podtask.map over {elements} elements")
    for level in levels:
        walls = []
        for _ in range(repeat):
            home = fresh()
            try:
                wall, doc = run(home, "fan", "--count", str(elements), "--parallel", str(level))
                assert doc["outputs"] == {"o0": sum(i * i for i in range(elements))}
                walls.append(wall)
            finally:
                shutil.rmtree(home, ignore_errors=True)
        per = statistics.median(walls) / elements
        print(f"    concurrency {level:>3}: {fmt(walls)}, {per:.3f} s per element")


def part_c(repeat: int) -> None:
    firsts, reruns = [], []
    for _ in range(repeat):
        home = fresh()
        try:
            first, _ = run(home, "cached_chain", "--v", "0")
            again, doc = run(home, "cached_chain", "--v", "0")
            nodes = doc["nodes"]
            assert isinstance(nodes, list) and all(n["reason"] == "CacheHit" for n in nodes)
            firsts.append(first)
            reruns.append(again)
        finally:
            shutil.rmtree(home, ignore_errors=True)
    print("(c) five cached nodes")
    print(f"    first run:                        {fmt(firsts)}")
    print(f"    re-run, every node a cache hit:   {fmt(reruns)}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--elements", type=int, default=100)
    p.add_argument("--concurrency", default="1,4,10")
    p.add_argument("--parts", default="abc")
    args = p.parse_args()
    load = os.getloadavg()[0]
    print(
        f"load average {load:.2f} on {os.cpu_count()} cores"
        + (" (busy)" if load > (os.cpu_count() or 1) else "")
    )
    if "a" in args.parts:
        part_a(args.repeat)
    if "b" in args.parts:
        part_b(args.repeat, args.elements, [int(x) for x in args.concurrency.split(",")])
    if "c" in args.parts:
        part_c(args.repeat)


if __name__ == "__main__":
    main()
