"""Local runs: ``podtask run`` (local engine) vs ``pyflyte run`` of the same seed task.

    python bench/bench_run_local.py [--repeat N] [--concurrency N] [--parts abc]
                                    [--python PY] [--no-flytekit]

(a) one run, wall median and peak RSS:
      podtask run bench/podtask_seed_fast.py my_sidecar_task  (the seed, polling every 0.05 s)
      pyflyte run bench/flytekit_seed.py my_sidecar_task
    pyflyte runs only the function: the sidecar never starts, so its primary
    polls until it gives up (1 s); a second flytekit row sets the give-up time
    to 0 (FLYTEKIT_SEED_WAIT_S=0) to show the framework's own cost.
(b) --concurrency N podtask runs started at once (default 100): total wall,
    failures, peak memory of everything they start (sampled from /proc), and
    the same for --flytekit-concurrency pyflyte runs (default 10, wait 0).
(c) primary exit -> sidecar SIGTERM: ``podtask run ... --json`` of
    bench/podtask_long_sidecar.py (its sidecar outlives the primary) and the
    per-container times in the JSON.
Aims: one run < 0.6 s; primary exit -> SIGTERM < 20 ms; 100 concurrent runs all succeed.
Runs use a scratch PODTASK_HOME, removed at the end, so your run history stays clean.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from _common import (
    ANCHOR_PYFLYTE_RUN_MB,
    ANCHOR_PYFLYTE_RUN_S,
    ANCHORS,
    BENCH_DIR,
    FLYTEKIT_SEED,
    REPO_ROOT,
    SEED_TASK,
    ConcurrentResult,
    Measurement,
    Row,
    base_parser,
    ensure_flytekit,
    flytekit_env,
    mb,
    measure,
    podtask_cli,
    podtask_python,
    podtask_subcommand_available,
    print_context,
    print_table,
    ratio,
    remove,
    run_concurrently,
    run_once,
    scratch_dir,
    secs,
    tail,
)

AIM_RUN_S = 0.6
AIM_STOP_MS = 20.0
STOP_EXAMPLE = BENCH_DIR / "podtask_long_sidecar.py"
# The seed example with its primary polling every 0.05 s (the seed polls every 5 s).
RUN_EXAMPLE = BENCH_DIR / "podtask_seed_fast.py"
STOP_TASK = "long_sidecar_task"


# ------------------------------------------------------------ (c) JSON parsing


def parse_json_doc(text: str) -> dict[str, Any] | None:
    """The run's JSON document from stdout, tolerating log lines around it."""
    candidates = [text.strip()]
    candidates += [ln.strip() for ln in reversed(text.splitlines()) if ln.strip().startswith("{")]
    start = text.find("{")
    if start >= 0:
        candidates.append(text[start:].strip())
    for c in candidates:
        try:
            doc = json.loads(c)
        except ValueError:
            continue
        if isinstance(doc, dict):
            return doc
    return None


def as_epoch(value: Any) -> float | None:
    """Epoch seconds from a float/int or an ISO-8601 string; None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None
    return None


def containers_of(doc: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    raw = doc.get("containers")
    if isinstance(raw, Mapping):
        return {str(k): v for k, v in raw.items() if isinstance(v, Mapping)}
    if isinstance(raw, list):
        out: dict[str, Mapping[str, Any]] = {}
        for i, c in enumerate(raw):
            if isinstance(c, Mapping):
                out[str(c.get("name", f"#{i}"))] = c
        return out
    return {}


def primary_name(doc: Mapping[str, Any], ctrs: Mapping[str, Mapping[str, Any]]) -> str | None:
    for key in ("primary", "primary_container", "primary_container_name"):
        if isinstance(doc.get(key), str) and doc[key] in ctrs:
            return str(doc[key])
    for name, c in ctrs.items():
        if c.get("is_primary") or c.get("primary") is True:
            return name
    return "primary" if "primary" in ctrs else None


def stop_delays(doc: Mapping[str, Any]) -> tuple[list[float], list[float], str]:
    """(primary exit -> stop signal, primary exit -> sidecar exit) in ms, and a note."""
    ctrs = containers_of(doc)
    if not ctrs:
        return [], [], "n/a (field missing: containers)"
    primary = primary_name(doc, ctrs)
    if primary is None:
        return [], [], "n/a (cannot tell which container is the primary)"
    p_end = as_epoch(ctrs[primary].get("finished_at"))
    if p_end is None:
        return [], [], "n/a (field missing: primary finished_at)"
    to_signal: list[float] = []
    to_exit: list[float] = []
    notes: list[str] = []
    for name, c in ctrs.items():
        if name == primary or c.get("kind") in ("init",):
            continue
        sig_at = as_epoch(c.get("stop_signal_at"))
        end = as_epoch(c.get("finished_at"))
        if sig_at is not None:
            to_signal.append((sig_at - p_end) * 1000.0)
        else:
            notes.append(f"{name}: field missing: stop_signal_at")
        if end is not None and end >= p_end:
            to_exit.append((end - p_end) * 1000.0)
        elif end is not None:
            notes.append(f"{name} exited before the primary (nothing to stop)")
    return to_signal, to_exit, "; ".join(notes)


def ms_summary(values: list[float]) -> str:
    if not values:
        return "n/a"
    return (
        f"{statistics.median(values):.1f} ms "
        f"(min {min(values):.1f}, max {max(values):.1f}, n={len(values)})"
    )


# ------------------------------------------------------------------ the parts


def part_a(
    args: argparse.Namespace, cli: list[str] | None, fk_pyflyte: str | None, env: dict[str, str]
) -> list[Row]:
    print("(a) one run")
    pt: Measurement | None = None
    if cli:
        pt = measure(
            "podtask run",
            [*cli, "run", str(RUN_EXAMPLE), SEED_TASK],
            repeat=args.repeat,
            cwd=REPO_ROOT,
            env=env,
            timeout=120,
        )
    fk = fk0 = None
    if fk_pyflyte:
        fk = measure(
            "pyflyte run",
            [fk_pyflyte, "run", str(FLYTEKIT_SEED), SEED_TASK],
            repeat=args.repeat,
            cwd=REPO_ROOT,
            env=flytekit_env(),
        )
        fk0 = measure(
            "pyflyte run, wait 0",
            [fk_pyflyte, "run", str(FLYTEKIT_SEED), SEED_TASK],
            repeat=args.repeat,
            cwd=REPO_ROOT,
            env=flytekit_env({"FLYTEKIT_SEED_WAIT_S": "0"}),
        )
    pt_med = pt.median if pt and pt.ok else None
    pt_txt = secs(pt, na=args.pt_note)
    if fk_pyflyte:
        fk_txt, fk_val, fk_mb = secs(fk), (fk.median if fk and fk.ok else None), mb(fk)
    else:
        fk_txt, fk_val = f"{ANCHOR_PYFLYTE_RUN_S:.2f} s ({ANCHORS})", ANCHOR_PYFLYTE_RUN_S
        fk_mb = f"{ANCHOR_PYFLYTE_RUN_MB:.0f} MB ({ANCHORS})"
    rows = [
        Row(
            "(a) one run, wall (pyflyte: sidecar ignored, gives up after 1 s)",
            pt_txt,
            fk_txt,
            ratio(pt_med, fk_val),
            f"podtask < {AIM_RUN_S} s",
        ),
    ]
    if fk0 is not None:
        rows.append(
            Row(
                "(a) one run, wall (pyflyte: give up at once)",
                pt_txt,
                secs(fk0),
                ratio(pt_med, fk0.median if fk0.ok else None),
                "-",
            )
        )
    rows.append(
        Row("(a) peak RSS of the largest process", mb(pt, na=args.pt_note), fk_mb, "-", "-")
    )
    return rows


def concurrent_txt(r: ConcurrentResult | None, na: str) -> tuple[str, str, str]:
    if r is None:
        return na, na, na
    wall = f"{r.wall:.2f} s for {r.n}"
    fails = f"{r.failures}/{r.n} failed"
    mem = (
        f"{r.peak_pss_kb / 1024:.0f} MB PSS / {r.peak_rss_kb / 1024:.0f} MB RSS, "
        f"{r.peak_procs} procs"
    )
    return wall, fails, mem


def part_b(
    args: argparse.Namespace, cli: list[str] | None, fk_pyflyte: str | None, env: dict[str, str]
) -> list[Row]:
    print(
        f"(b) {args.concurrency} concurrent podtask runs, "
        f"{args.flytekit_concurrency} concurrent pyflyte runs"
    )
    pt: ConcurrentResult | None = None
    if cli and args.concurrency > 0:
        pt = run_concurrently(
            [*cli, "run", str(RUN_EXAMPLE), SEED_TASK],
            args.concurrency,
            cwd=REPO_ROOT,
            env=env,
            interval=args.sample_interval,
        )
        print(f"  podtask: {concurrent_txt(pt, '')}")
        if pt.first_failure:
            print(f"    first failure: {pt.first_failure}")
    fk: ConcurrentResult | None = None
    if fk_pyflyte and args.flytekit_concurrency > 0:
        fk = run_concurrently(
            [fk_pyflyte, "run", str(FLYTEKIT_SEED), SEED_TASK],
            args.flytekit_concurrency,
            cwd=REPO_ROOT,
            env=flytekit_env({"FLYTEKIT_SEED_WAIT_S": "0"}),
            interval=args.sample_interval,
        )
        print(f"  pyflyte: {concurrent_txt(fk, '')}")
        if fk.first_failure:
            print(f"    first failure: {fk.first_failure}")
    pw, pf, pm = concurrent_txt(pt, args.pt_note)
    fw, ff, fm = concurrent_txt(fk, "not run")
    per_run = ratio(pt.wall / pt.n if pt else None, fk.wall / fk.n if fk else None)
    return [
        Row(
            "(b) concurrent runs, total wall (pyflyte: give up at once)",
            pw,
            fw,
            f"{per_run} per run" if per_run != "-" else "-",
            "-",
        ),
        Row("(b) failures (non-zero exits)", pf, ff, "-", f"podtask 0/{args.concurrency}"),
        Row("(b) peak memory, all processes (sampled)", pm, fm, "-", "-"),
    ]


def part_c(args: argparse.Namespace, cli: list[str] | None, env: dict[str, str]) -> list[Row]:
    print("(c) primary exit -> sidecar SIGTERM")
    na = args.pt_note
    if not cli:
        return [
            Row(
                "(c) primary exit -> sidecar SIGTERM",
                na,
                "n/a (flytekit: never)",
                "-",
                f"< {AIM_STOP_MS:.0f} ms",
            )
        ]
    to_signal: list[float] = []
    to_exit: list[float] = []
    note = ""
    for _ in range(args.repeat):
        r = run_once(
            [*cli, "run", str(STOP_EXAMPLE), STOP_TASK, "--json"],
            cwd=REPO_ROOT,
            env=env,
            timeout=120,
        )
        doc = parse_json_doc(r.stdout)
        if doc is None:
            note = f"n/a (no JSON on stdout; exit {r.returncode}: {tail(r.stderr, 2)})"
            break
        sig, ext, note = stop_delays(doc)
        to_signal += sig
        to_exit += ext
    print(
        f"  to SIGTERM: {ms_summary(to_signal)}; to sidecar exit: {ms_summary(to_exit)}"
        + (f"; {note}" if note else "")
    )
    if not note:
        na_txt = "n/a (field missing)"
    else:
        na_txt = note if note.startswith("n/a") else f"n/a ({note})"
    sig_txt = ms_summary(to_signal) if to_signal else na_txt
    return [
        Row(
            "(c) primary exit -> sidecar SIGTERM (stop_signal_at)",
            sig_txt,
            "never (local pyflyte runs no sidecar)",
            "-",
            f"< {AIM_STOP_MS:.0f} ms",
        ),
        Row(
            "(c) primary exit -> sidecar exited (finished_at, upper bound)",
            ms_summary(to_exit) if to_exit else na_txt,
            "-",
            "-",
            "-",
        ),
    ]


def main() -> int:
    p = base_parser(__doc__.splitlines()[0])
    p.add_argument(
        "--concurrency",
        type=int,
        default=100,
        help="podtask runs started at once in part (b) (default 100; 0 skips)",
    )
    p.add_argument(
        "--flytekit-concurrency",
        type=int,
        default=10,
        help="pyflyte runs started at once in part (b) (default 10; 0 skips)",
    )
    p.add_argument("--parts", default="abc", help="which parts to run, e.g. 'ac' (default abc)")
    p.add_argument(
        "--sample-interval",
        type=float,
        default=0.05,
        help="seconds between /proc memory samples in part (b) (default 0.05)",
    )
    args = p.parse_args()
    print_context()
    fk_python = ensure_flytekit(args) if set(args.parts) & {"a", "b"} else None
    fk_pyflyte = str(Path(fk_python).parent / "pyflyte") if fk_python else None
    pt_python = podtask_python(args)

    cli: list[str] | None = None
    args.pt_note = "not run"
    if pt_python:
        available, why = podtask_subcommand_available(pt_python, "run")
        if available:
            cli = podtask_cli(pt_python)
        else:
            args.pt_note = "podtask run not available"
            print(f"{args.pt_note} ({why})")

    home = scratch_dir("bench-podtask-home-")
    env = {**os.environ, "PODTASK_HOME": str(home)}
    rows: list[Row] = []
    try:
        if "a" in args.parts:
            rows += part_a(args, cli, fk_pyflyte, env)
        if "b" in args.parts:
            rows += part_b(args, cli, fk_pyflyte, env)
        if "c" in args.parts:
            rows += part_c(args, cli, env)
    finally:
        remove(home)
    print_table("local runs (baseline = flytekit, pyflyte run)", rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
