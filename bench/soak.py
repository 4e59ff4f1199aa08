"""Soak benchmark: many sequential local runs, kill -9 and Ctrl-C at random moments, then leaks.

Not a test (pytest does not collect ``bench/``): it prints figures and never
asserts.  It answers "after a long day of runs, some killed and some
interrupted, is anything left behind, and does every record tell the truth?"

Each of ``--runs`` runs is one ``podtask run`` of a two-container task (a
primary that sleeps a random 0-0.4 s and reports its open file descriptors,
and a sidecar that would sleep forever).  ``--kills`` of them get ``kill -9``
and ``--interrupts`` get ``SIGINT`` at a random moment of their life; half of
the interrupts land within the first 0.3 s (while podtask is still starting),
the rest up to the typical run length.  After every run the bench checks
what that run should have left (its exit code, its record's phase) and what
no run may leave: processes carrying the run's mark, mounts, memory cgroups,
pod work directories and network namespaces beyond those seen before the
soak started, and the file descriptors the next run's primary inherits.

Leftovers of a ``kill -9``-ed run (its work dir, cgroups) are swept by the
next run by design, so those are counted only after the next run ended.

Usage (from the repository root, as root, in a venv with podtask installed)::

    python bench/soak.py                                   # 1,000 / 100 / 100
    python bench/soak.py --runs 100 --kills 20 --interrupts 20 --seed 1
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

TASK_SOURCE = """\
import os
import time

import podtask

MARK = os.environ["SOAK_MARK"]


@podtask.task(
    pod=podtask.Pod(
        spec={
            "containers": [
                {"name": "primary"},
                # PID 1 of its container: it traps SIGTERM, or it would wait out the grace.
                {
                    "name": "side",
                    "command": [
                        "/bin/sh", "-c", f"trap 'exit 143' TERM; sleep 1000 & wait; : {MARK}"
                    ],
                },
            ]
        }
    )
)
def soak(pause: float = 0.0) -> int:
    time.sleep(pause)
    return len(os.listdir("/proc/self/fd"))
"""


@dataclass
class Snapshot:
    """What a run of this soak could leak, besides processes (names carry ``soak-``/our pids)."""

    mounts: set[str]
    cgroups: set[str]
    work_dirs: set[str]
    netns: set[str]

    def minus(self, base: Snapshot) -> dict[str, list[str]]:
        out = {
            "mounts": sorted(self.mounts - base.mounts),
            "cgroups": sorted(self.cgroups - base.cgroups),
            "work dirs": sorted(self.work_dirs - base.work_dirs),
            "network namespaces": sorted(self.netns - base.netns),
        }
        return {k: v for k, v in out.items() if v}

    def union(self, other: Snapshot) -> Snapshot:
        return Snapshot(
            self.mounts | other.mounts,
            self.cgroups | other.cgroups,
            self.work_dirs | other.work_dirs,
            self.netns | other.netns,
        )


@dataclass
class Tally:
    exit_codes: collections.Counter[str] = field(default_factory=collections.Counter)
    succeeded: int = 0
    leaks: dict[str, list[str]] = field(default_factory=dict)
    fd_counts: collections.Counter[int] = field(default_factory=collections.Counter)
    problems: list[str] = field(default_factory=list)
    kills_before_record: int = 0
    interrupts_after_exit: int = 0
    interrupts_after_end: int = 0
    interrupts_in_startup: int = 0
    kills_after_end: int = 0

    def leak(self, kind: str, what: list[str], run: int) -> None:
        self.leaks.setdefault(kind, []).extend(f"run {run}: {w}" for w in what)


# The machine is shared: only what this soak made counts.  Its run ids (and so its
# pod work dirs) start with "soak-"; its cgroups start with the pid of a podtask
# client it started; its processes carry its mark or its task file on the command line.
OURS = "soak-"


def _mounts() -> set[str]:
    with open("/proc/self/mountinfo") as f:
        return {" ".join(line.split()[3:5]) for line in f if OURS in line}


def _cgroups(pids: set[int]) -> set[str]:
    found: set[str] = set()
    for top in Path("/sys/fs/cgroup").glob("*/**/podtask"):
        try:
            found.update(
                str(p) for p in top.iterdir() if p.is_dir() and int(p.name.split("-")[0]) in pids
            )
        except (OSError, ValueError):
            continue
    return found


def _work_dirs() -> set[str]:
    root = Path(tempfile.gettempdir()) / "podtask-pods"
    try:
        return {str(p) for p in root.iterdir() if p.name.startswith(OURS)}
    except OSError:
        return set()


def _netns() -> set[str]:
    """Network namespaces bind-mounted under /run/netns by a run of this soak."""
    try:
        return {f"/run/netns/{n}" for n in os.listdir("/run/netns") if OURS in n}
    except OSError:
        return set()


def snapshot(pids: set[int]) -> Snapshot:
    return Snapshot(_mounts(), _cgroups(pids), _work_dirs(), _netns())


def pids_with(*words: str) -> list[int]:
    """Processes whose command line holds one of ``words`` (a run's pod, or its client)."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != os.getpid():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    cmdline = f.read()
                    if any(w.encode() in cmdline for w in words):
                        out.append(int(entry))
            except OSError:
                continue
    return out


def wait_until(predicate: object, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return bool(predicate())  # type: ignore[operator]


def phases(home: Path) -> dict[str, str]:
    """run_id -> phase, read straight from the database (no reaping, no writes)."""
    db = home / "podtask.db"
    if not db.exists():
        return {}
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return dict(conn.execute("SELECT run_id, phase FROM runs").fetchall())
    finally:
        conn.close()


def timeline(home: Path, run_id: str) -> tuple[float | None, float | None, float | None]:
    """(created_at, the primary's finished_at, ended_at) of a run, epoch seconds."""
    conn = sqlite3.connect(f"file:{home / 'podtask.db'}?mode=ro", uri=True)
    try:
        row = conn.execute(
            "SELECT created_at, ended_at FROM runs WHERE run_id = ?", (run_id,)
        ).fetchone()
        primary = conn.execute(
            "SELECT max(finished_at) FROM containers WHERE run_id = ? AND is_primary = 1",
            (run_id,),
        ).fetchone()
    finally:
        conn.close()
    if row is None:
        return None, None, None
    return row[0], (primary[0] if primary else None), row[1]


def reap(home: Path, env: dict[str, str]) -> None:
    """``podtask runs`` marks runs whose podtask died as LOST."""
    subprocess.run(
        [sys.executable, "-m", "podtask", "runs", "--limit", "1"],
        env=env,
        capture_output=True,
        check=False,
        timeout=120,
    )


def in_interpreter_startup(errs: str) -> bool:
    """stderr of a process that a SIGINT ended before podtask's code ran (none, or Python's)."""
    text = errs.strip()
    return not text or (text.endswith("KeyboardInterrupt") and "/podtask/" not in text)


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.1f} {five:.1f} {fifteen:.1f} on {os.cpu_count()} cores"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1000, help="sequential runs in all")
    parser.add_argument("--kills", type=int, default=100, help="runs ended with kill -9")
    parser.add_argument("--interrupts", type=int, default=100, help="runs sent SIGINT")
    parser.add_argument("--seed", type=int, default=None, help="random seed (to repeat a soak)")
    parser.add_argument("--keep", action="store_true", help="keep the soak's PODTASK_HOME")
    args = parser.parse_args(argv)
    if args.kills + args.interrupts > args.runs:
        parser.error("--kills + --interrupts must not exceed --runs")
    # Started as a background job of a script (`python bench/soak.py &`), this process
    # and so its children begin with SIGINT ignored, and a SIGINT landing before the
    # CLI installs its handler (the interpreter starting) was silently lost: the run
    # went on to exit 0. A terminal's Ctrl-C finds the default action.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)

    work = Path(tempfile.mkdtemp(prefix="podtask-soak-"))
    home = work / "home"
    task_file = work / "soak_task.py"
    task_file.write_text(TASK_SOURCE)
    mark = f"podtask-soak-{uuid.uuid4().hex[:10]}"
    env = {**os.environ, "PODTASK_HOME": str(home), "SOAK_MARK": mark}
    env.pop("PODTASK_TEST_MARK", None)

    plan = ["kill"] * args.kills + ["int"] * args.interrupts
    plan += ["plain"] * (args.runs - len(plan))
    rng.shuffle(plan)
    early_ints = set(
        rng.sample([i for i, p in enumerate(plan) if p == "int"], args.interrupts // 2)
    )

    ours = (mark, str(task_file))
    tally = Tally()
    clients: set[int] = set()
    base = snapshot(clients)
    typical = 0.8  # seconds; updated from the plain runs
    expected: dict[str, str] = {}  # run_id -> the phase its record must end in
    started = time.monotonic()
    print(f"soak: {args.runs} runs, {args.kills} kill -9, {args.interrupts} SIGINT, seed {seed}")
    print(f"started {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}, {_load()}")
    for i, kind in enumerate(plan):
        before = set(phases(home))
        t0 = time.monotonic()
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "podtask",
                "run",
                str(task_file),
                "soak",
                "--json",
                "--pause",
                f"{rng.uniform(0.0, 0.4):.3f}",
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        clients.add(proc.pid)
        sent = False
        sent_at = 0.0
        if kind != "plain":
            delay = rng.uniform(0.0, 0.3) if i in early_ints else rng.uniform(0.0, typical)
            try:
                proc.wait(timeout=delay)
            except subprocess.TimeoutExpired:
                sent_at = time.time()
                # Popen.send_signal says nothing when the process has just exited; it
                # must not count as sent then.
                sent = proc.poll() is None
                proc.send_signal(signal.SIGKILL if kind == "kill" else signal.SIGINT)
        try:
            out, errs = proc.communicate(timeout=300)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, errs = proc.communicate()
            tally.problems.append(f"run {i}: podtask did not end within 300 s")
        rc = proc.returncode
        elapsed = time.monotonic() - t0
        label = {"kill": "kill -9", "int": "SIGINT", "plain": "plain"}[kind]
        tally.exit_codes[
            f"{label}: {rc}" if sent or kind == "plain" else f"{label} (too late): {rc}"
        ] += 1
        new = sorted(set(phases(home)) - before)
        run_id = new[0] if new else None
        if kind == "plain" or not sent:
            if not sent and kind == "int":
                tally.interrupts_after_exit += 1
            if rc == 0:
                tally.succeeded += 1
                doc = json.loads(out)
                tally.fd_counts[int(doc["outputs"]["o0"])] += 1
                typical = 0.8 * typical + 0.2 * elapsed
            else:
                tally.problems.append(f"run {i} ({run_id}): exit {rc}: {errs.strip()[-300:]}")
            if run_id:
                expected[run_id] = "SUCCEEDED"
        elif kind == "int":
            # Every Ctrl-C that reached a running podtask must exit 130.  The record keeps
            # the primary's result if it had already ended (SUCCEEDED, noted as
            # interrupted), else it is ABORTED.
            try:
                doc = json.loads(out)
            except ValueError:
                doc = {}  # interrupted before the run printed anything (no record, or ABORTED)
            if rc in (1, -signal.SIGINT) and run_id is None and in_interpreter_startup(errs):
                # The interpreter was still starting (site, runpy): Python itself decides,
                # before any podtask code ran; nothing was started.
                tally.interrupts_in_startup += 1
            elif rc != 130:
                created, primary_done, _ = timeline(home, run_id) if run_id else (None,) * 3
                when = ""
                if created is not None:
                    when = f" (sent {sent_at - created:+.3f}s after the record"
                    if primary_done is not None:
                        when += f", primary ended {primary_done - created:+.3f}s"
                    when += ")"
                tail = " | ".join(errs.strip().splitlines()[-4:])
                if "KeyboardInterrupt" in errs or "Exception ignored" in errs:
                    tail = "(stderr shows a KeyboardInterrupt / an ignored exception) " + tail
                tally.problems.append(
                    f"run {i} ({run_id}): SIGINT gave exit {rc}, not 130{when}; stderr: {tail}"
                )
            elif doc.get("phase") == "SUCCEEDED":
                tally.interrupts_after_end += 1
                if not doc.get("interrupted"):
                    tally.problems.append(f"run {i} ({run_id}): exit 130 not marked interrupted")
            if run_id:
                expected[run_id] = "SUCCEEDED" if doc.get("phase") == "SUCCEEDED" else "ABORTED"
        else:
            ended = timeline(home, run_id)[2] if run_id else None
            if run_id is None:
                tally.kills_before_record += 1
            elif ended is not None:
                # The record was final before the kill landed (a dead process writes
                # nothing): the run had ended, and its record keeps how.
                tally.kills_after_end += 1
                expected[run_id] = phases(home).get(run_id, "?")
            else:
                expected[run_id] = "LOST"
        # Nothing of this run may still run once podtask itself is gone.
        if not wait_until(lambda: not pids_with(*ours), 15.0):
            left = pids_with(*ours)
            held = {os.readlink(f"/proc/{p}/ns/net") for p in left if os.path.exists(f"/proc/{p}")}
            tally.leak("processes", [f"pid {p}" for p in left], i)
            tally.leak("network namespaces", sorted(held - {os.readlink("/proc/self/ns/net")}), i)
            for p in left:
                os.kill(p, signal.SIGKILL)
        if kind == "plain" or not sent:
            # This run swept what any earlier kill -9 left; nothing may remain now.
            now = snapshot(clients)
            for what, items in now.minus(base).items():
                tally.leak(what, items, i)
            base = base.union(now)  # report each leak once, not after every later run
        if (i + 1) % 50 == 0:
            print(
                f"  {i + 1}/{args.runs} runs, {time.monotonic() - started:.0f} s, {_load()}",
                flush=True,
            )

    reap(home, env)
    final = phases(home)
    by_phase = collections.Counter(final.values())
    false_lost = sorted(r for r, p in final.items() if p == "LOST" and expected.get(r) != "LOST")
    wrong = sorted(
        f"{r}: {final.get(r)} (expected {p})" for r, p in expected.items() if final.get(r) != p
    )
    records_without_dir = sorted(r for r in final if not (home / "runs" / r).is_dir())
    dirs_without_record = (
        sorted(p.name for p in (home / "runs").iterdir() if p.name not in final)
        if (home / "runs").is_dir()
        else []
    )

    print(f"\nsoak finished in {time.monotonic() - started:.0f} s (seed {seed}), {_load()}")
    print(
        f"runs succeeded: {tally.succeeded} ({plan.count('plain')} plain runs; "
        f"{tally.interrupts_after_exit} whose SIGINT would have come after podtask exited, "
        "so it was not sent)"
    )
    print(
        f"SIGINTs that came after the primary had exited 0 (exit 130, record SUCCEEDED and "
        f"noted as interrupted): {tally.interrupts_after_end}"
    )
    print(
        "SIGINTs that ended the interpreter during its own start-up, before any podtask "
        f"code ran (Python's exit 1 or -2; nothing started): {tally.interrupts_in_startup}"
    )
    print("exit codes seen:")
    for key, n in sorted(tally.exit_codes.items()):
        print(f"  {key:<28} {n}")
    print("records by phase: " + ", ".join(f"{p} {n}" for p, n in sorted(by_phase.items())))
    print(f"kill -9 before any record existed: {tally.kills_before_record}")
    print(f"kill -9 after the record was final (podtask was exiting): {tally.kills_after_end}")
    print(f"false LOST: {len(false_lost)}" + (f" {false_lost[:5]}" if false_lost else ""))
    print(
        f"records not in the expected phase: {len(wrong)}" + "".join(f"\n  {w}" for w in wrong[:10])
    )
    print(
        f"run dirs without a record: {len(dirs_without_record)}"
        + (f" {dirs_without_record[:5]}" if dirs_without_record else "")
    )
    print(f"records without a run dir: {len(records_without_dir)}")
    print(
        "open fds in the primary: "
        + ", ".join(f"{n} fds x{c}" for n, c in sorted(tally.fd_counts.items()))
    )
    leak_total = sum(len(v) for v in tally.leaks.values())
    print(f"leaks found: {leak_total}")
    for kind_, items in sorted(tally.leaks.items()):
        print(f"  {kind_}: {len(items)}" + "".join(f"\n    {x}" for x in items[:5]))
    if tally.problems:
        print(f"other problems: {len(tally.problems)}")
        for p in tally.problems[:20]:
            print("  " + textwrap.shorten(p, 600))
    if args.keep:
        print(f"PODTASK_HOME kept: {home}")
    else:
        import shutil

        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
