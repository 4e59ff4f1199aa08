"""A local run against the machine's floor, side by side in one run.

    python bench/bench_floor.py [--repeat N] [--python PY] [--before SRC]

The floor is bench/floor_pod.py: the handoff pod (a sidecar writes a file into
an emptyDir; the primary waits for it and returns it) done by hand in one
Python process, each container in its own mount namespace over an overlay of
``/``. podtask's figure is ``podtask run bench/handoff_task.py handoff`` of the
same pod on the local engine. Both are timed as whole processes, first with
bytecode available (as for an installed package), then with
PYTHONDONTWRITEBYTECODE=1 (as these machines set it, where an editable install
recompiles every module). Prints each figure beside the floor and the ratio;
asserts nothing. Needs root on Linux. Runs use a scratch PODTASK_HOME.

``--before SRC``: also time the same run with ``PYTHONPATH=SRC`` (the ``src``
dir of another checkout, e.g. ``git archive main src | tar -x -C /tmp/main``),
so a change's before and after are measured against the floor in one run.
"""

from __future__ import annotations

import os
import sys

from _common import (
    BENCH_DIR,
    Measurement,
    Row,
    base_parser,
    measure,
    podtask_cli,
    print_context,
    print_table,
    remove,
    scratch_dir,
    secs,
)

AIM = 2.0  # a local run at <= 2x the floor, with bytecode available


def _ratio(m: Measurement, floor: Measurement) -> str:
    if not m.walls or not floor.walls:
        return "-"
    return f"{m.median / floor.median:.1f}x the floor"


def main() -> int:
    parser = base_parser(__doc__ or "", default_repeat=10)
    parser.add_argument(
        "--before",
        metavar="SRC",
        help="also time podtask from this src dir (PYTHONPATH), as the 'before' row",
    )
    args = parser.parse_args()
    print_context()
    home = scratch_dir("podtask-bench-floor-")
    rows: list[Row] = []
    try:
        for bytecode in (True, False):
            env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
            env["PODTASK_HOME"] = str(home)
            label = "bytecode cached" if bytecode else "PYTHONDONTWRITEBYTECODE=1"
            if not bytecode:
                env["PYTHONDONTWRITEBYTECODE"] = "1"
            print(f"{label}:")
            bare = measure(
                "python -c pass", [args.python, "-c", "pass"], repeat=args.repeat, env=env
            )
            floor = measure(
                "floor (hand-made pod)",
                [args.python, str(BENCH_DIR / "floor_pod.py")],
                repeat=args.repeat,
                env=env,
            )
            cmd = [*podtask_cli(args.python), "run", str(BENCH_DIR / "handoff_task.py"), "handoff"]
            run = measure("podtask run handoff", cmd, repeat=args.repeat, env=env)
            aim = f"<= {AIM:.0f}x the floor" if bytecode else "-"
            rows.append(
                Row(f"python -c pass ({label})", secs(bare), secs(floor), _ratio(bare, floor), "-")
            )
            if args.before:
                env_before = {**env, "PYTHONPATH": args.before}
                before = measure(
                    "podtask run handoff, before", cmd, repeat=args.repeat, env=env_before
                )
                rows.append(
                    Row(
                        f"before: podtask run ({label})",
                        secs(before),
                        secs(floor),
                        _ratio(before, floor),
                        "-",
                    )
                )
            rows.append(
                Row(f"podtask run ({label})", secs(run), secs(floor), _ratio(run, floor), aim)
            )
    finally:
        remove(home)
    print_table("A local run against the floor (the same pod by hand: bench/floor_pod.py)", rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
