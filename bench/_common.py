"""Shared helpers for the side-by-side benchmarks (podtask vs flytekit).

Stdlib only. Nothing here asserts a timing: the scripts measure and print.

How a child is measured
-----------------------
Each command is started with ``subprocess.Popen`` and reaped with
``os.wait4(pid)``, which hands back the ``rusage`` of *that* child alone.
Its ``ru_maxrss`` is the largest resident set reached by the child or by any
descendant it waited for; it is the peak of the single biggest process, not
the sum over a process tree. This is the very figure ``/usr/bin/time -v``
prints as "Maximum resident set size" (it also calls ``wait4``), so no
external tool is needed. It is better than diffing
``getrusage(RUSAGE_CHILDREN).ru_maxrss`` between runs, which is a running
maximum over every child ever reaped and so cannot go down for a smaller
child. When a whole tree matters (many concurrent runs, a pod's processes)
``ProcSampler`` sums RSS and PSS read from ``/proc`` while the commands run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
FLYTEKIT_VENV = BENCH_DIR / ".venvs" / "flytekit"
FLYTEKIT_SEED = BENCH_DIR / "flytekit_seed.py"
PODTASK_SEED = REPO_ROOT / "examples" / "seed_working_example.py"
SEED_TASK = "my_sidecar_task"
ANCHORS = "anchors.md"

# Baselines from /work/shared/reference/anchors.md section 6, used when a
# figure cannot be measured now (label them "anchors.md" when printed).
ANCHOR_PYTHON_PASS_S = 0.22
ANCHOR_IMPORT_FLYTEKIT_S = 1.23
ANCHOR_IMPORT_FLYTEKIT_MB = 92.0
ANCHOR_PYFLYTE_RUN_S = 2.19
ANCHOR_PYFLYTE_RUN_MB = 118.0
ANCHOR_PYFLYTE_SERIALIZE_S = 1.97

Cmd = Sequence[str]

# kubernetes: the flytekit 1.x seed builds its pod spec from kubernetes.client.
# python-dateutil<3: the newest kubernetes wants dateutil>=3, botocore (a flytekit
# dependency) wants <3; without the pin pip backtracks for many minutes.
FLYTEKIT_REQUIREMENTS = ("flytekit", "kubernetes", "python-dateutil<3")


# ----------------------------------------------------------------- arguments


def base_parser(description: str, *, default_repeat: int = 5) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument(
        "--repeat",
        type=int,
        default=default_repeat,
        help=f"measured runs per command, after one unmeasured warm-up (default {default_repeat})",
    )
    p.add_argument(
        "--python",
        default=sys.executable,
        help="interpreter that has podtask installed (default: the one running this script)",
    )
    p.add_argument(
        "--no-flytekit",
        action="store_true",
        help="skip the flytekit side (no venv is created; anchors.md figures are shown instead)",
    )
    p.add_argument(
        "--flytekit-venv",
        type=Path,
        default=FLYTEKIT_VENV,
        help=f"venv holding flytekit, created with pip when missing (default {FLYTEKIT_VENV})",
    )
    return p


# ------------------------------------------------------------------ measuring


@dataclass
class Measurement:
    label: str
    walls: list[float] = field(default_factory=list)  # seconds
    max_rss_kb: list[int] = field(default_factory=list)  # ru_maxrss of each run
    returncodes: list[int] = field(default_factory=list)
    last_stdout: str = ""
    last_stderr: str = ""

    @property
    def ok(self) -> bool:
        return bool(self.returncodes) and all(rc == 0 for rc in self.returncodes)

    @property
    def failures(self) -> int:
        return sum(1 for rc in self.returncodes if rc != 0)

    @property
    def median(self) -> float:
        return statistics.median(self.walls)

    @property
    def min(self) -> float:
        return min(self.walls)

    @property
    def rss_mb(self) -> float:
        return statistics.median(self.max_rss_kb) / 1024.0

    def summary(self) -> str:
        if not self.walls:
            return f"{self.label}: not run"
        text = (
            f"{self.label}: median {self.median:.3f} s, min {self.min:.3f} s, "
            f"peak RSS {self.rss_mb:.0f} MB, n={len(self.walls)}"
        )
        if self.failures:
            text += f", {self.failures} non-zero exit(s)"
        return text


@dataclass
class RunResult:
    returncode: int
    wall: float
    max_rss_kb: int
    stdout: str
    stderr: str


def run_once(
    cmd: Cmd,
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 300.0,
) -> RunResult:
    """Run ``cmd`` once; wall time from just before the fork to the reap."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            list(cmd),
            cwd=cwd,
            env=dict(env) if env is not None else None,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
        )
        returncode, max_rss_kb = _reap(proc, timeout)
        wall = time.perf_counter() - t0
        out.seek(0)
        err.seek(0)
        return RunResult(
            returncode,
            wall,
            max_rss_kb,
            out.read().decode(errors="replace"),
            err.read().decode(errors="replace"),
        )


def _reap(proc: subprocess.Popen[bytes], timeout: float) -> tuple[int, int]:
    deadline = time.monotonic() + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            proc.returncode = os.waitstatus_to_exitcode(status)  # keep Popen from reaping again
            return proc.returncode, usage.ru_maxrss
        if time.monotonic() > deadline:
            proc.kill()
            _, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
            return -9, usage.ru_maxrss
        time.sleep(0.001)


def measure(
    label: str,
    cmd: Cmd | Callable[[int], Cmd],
    *,
    repeat: int,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    warmup: int = 1,
    timeout: float = 300.0,
) -> Measurement:
    """Run ``cmd`` ``warmup`` times unmeasured, then ``repeat`` times measured.

    ``cmd`` may be a function of the iteration number (e.g. a fresh output dir).
    """
    m = Measurement(label)
    for i in range(-warmup, repeat):
        argv = cmd(i) if callable(cmd) else cmd
        r = run_once(argv, cwd=cwd, env=env, timeout=timeout)
        m.last_stdout, m.last_stderr = r.stdout, r.stderr
        if i < 0:
            continue
        m.walls.append(r.wall)
        m.max_rss_kb.append(r.max_rss_kb)
        m.returncodes.append(r.returncode)
    print(f"  {m.summary()}", flush=True)
    if m.failures:
        print(f"    last stderr: {tail(m.last_stderr)}", flush=True)
    return m


def tail(text: str, lines: int = 5) -> str:
    chunk = [ln for ln in text.strip().splitlines() if ln.strip()][-lines:]
    return " | ".join(chunk) if chunk else "(empty)"


# ------------------------------------------------------------ /proc sampling


def _page_kb() -> int:
    return os.sysconf("SC_PAGE_SIZE") // 1024


def process_children() -> dict[int, list[int]]:
    """Every process's children, from one scan of /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        # the command name is in parentheses and may hold spaces: split after the last ")"
        fields = stat[stat.rfind(b")") + 2 :].split()
        children.setdefault(int(fields[1]), []).append(int(entry))
    return children


def _descendants(root: int, children: dict[int, list[int]] | None = None) -> list[int]:
    """``root``'s descendants (not ``root``); pass ``children`` to reuse one /proc scan."""
    if children is None:
        children = process_children()
    found: list[int] = []
    stack = list(children.get(root, ()))
    while stack:
        pid = stack.pop()
        found.append(pid)
        stack.extend(children.get(pid, ()))
    return found


def _rss_kb(pid: int, page_kb: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * page_kb
    except (OSError, IndexError, ValueError):
        return 0


def _pss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


class ProcSampler:
    """Samples, in a thread, every process descended from this one.

    Records the peak of the summed RSS (counts pages shared between forked
    interpreters once per process: an upper bound) and of the summed PSS
    (shared pages split between their users: closer to the real footprint),
    and the peak process count. Processes inside a pod's PID namespace are
    still visible in the host's /proc, so they are counted too.
    """

    def __init__(self, interval: float = 0.05, *, pss: bool = True) -> None:
        self.interval = interval
        self.pss = pss
        self.peak_rss_kb = 0
        self.peak_pss_kb = 0
        self.peak_procs = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> ProcSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        me, page_kb = os.getpid(), _page_kb()
        while not self._stop.is_set():
            pids = _descendants(me)
            self.peak_procs = max(self.peak_procs, len(pids))
            self.peak_rss_kb = max(self.peak_rss_kb, sum(_rss_kb(p, page_kb) for p in pids))
            if self.pss:
                self.peak_pss_kb = max(self.peak_pss_kb, sum(_pss_kb(p) for p in pids))
            self.samples += 1
            self._stop.wait(self.interval)


@dataclass
class ConcurrentResult:
    n: int
    wall: float
    failures: int
    max_single_rss_kb: int
    peak_rss_kb: int
    peak_pss_kb: int
    peak_procs: int
    samples: int
    first_failure: str = ""


def run_concurrently(
    cmd: Cmd,
    n: int,
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 600.0,
    interval: float = 0.05,
) -> ConcurrentResult:
    """Start ``n`` copies of ``cmd`` at once; wall is first start to last exit."""
    procs: list[tuple[subprocess.Popen[bytes], IO[bytes]]] = []
    failures, max_single, first_failure = 0, 0, ""
    with ProcSampler(interval) as sampler:
        t0 = time.perf_counter()
        for _ in range(n):
            err = tempfile.NamedTemporaryFile()  # noqa: SIM115 - closed below
            p = subprocess.Popen(
                list(cmd),
                cwd=cwd,
                env=dict(env) if env is not None else None,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=err,
            )
            procs.append((p, err))
        deadline = time.monotonic() + timeout
        for p, err in procs:
            rc, rss = _reap(p, max(1.0, deadline - time.monotonic()))
            max_single = max(max_single, rss)
            if rc != 0:
                failures += 1
                if not first_failure:
                    err.seek(0)
                    first_failure = f"exit {rc}: " + tail(err.read().decode(errors="replace"))
            err.close()
        wall = time.perf_counter() - t0
    return ConcurrentResult(
        n,
        wall,
        failures,
        max_single,
        sampler.peak_rss_kb,
        sampler.peak_pss_kb,
        sampler.peak_procs,
        sampler.samples,
        first_failure,
    )


# --------------------------------------------------------------- interpreters


def python_can_import(python: str, module: str) -> bool:
    try:
        r = subprocess.run(
            [python, "-c", f"import {module}"], capture_output=True, timeout=120, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return r.returncode == 0


def venv_bin(python: str, name: str) -> str | None:
    """A console script installed next to ``python`` (same venv), if any."""
    candidate = Path(python).parent / name
    return str(candidate) if candidate.exists() else None


def ensure_flytekit(args: argparse.Namespace) -> Path | None:
    """Return the flytekit venv's python, creating the venv on first use.

    Returns None (after saying why) when skipped or when the install fails;
    callers then fall back to the anchors.md figures.
    """
    if args.no_flytekit:
        print("flytekit: skipped (--no-flytekit); baselines are the anchors.md figures")
        return None
    venv: Path = args.flytekit_venv
    python = venv / "bin" / "python"
    if python.exists() and python_can_import(str(python), "flytekit, kubernetes"):
        return python
    print(
        f"flytekit: installing {' '.join(FLYTEKIT_REQUIREMENTS)} into {venv} "
        "(a few minutes, ~450 MB) ..."
    )
    log = venv.parent / "flytekit-install.log"
    try:
        venv.parent.mkdir(parents=True, exist_ok=True)
        if not python.exists():
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        with open(log, "w") as f:
            subprocess.run(
                [str(python), "-m", "pip", "install", *FLYTEKIT_REQUIREMENTS],
                stdout=f,
                stderr=subprocess.STDOUT,
                check=True,
                timeout=1800,
            )
    except (OSError, subprocess.SubprocessError) as exc:
        print(f"flytekit: install failed ({exc}); see {log}. Using anchors.md figures instead.")
        return None
    if not python_can_import(str(python), "flytekit, kubernetes"):
        print(f"flytekit: installed but `import flytekit` fails; see {log}. Using anchors.md.")
        return None
    return python


def flytekit_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Environment for pyflyte: no remote config, no telemetry, quiet logs."""
    env = dict(os.environ)
    env.setdefault("FLYTE_SDK_LOGGING_LEVEL", "40")
    env["FLYTECTL_CONFIG"] = "/nonexistent"  # never pick up a user's remote config
    if extra:
        env.update(extra)
    return env


def podtask_python(args: argparse.Namespace) -> str | None:
    python: str = args.python
    if python_can_import(python, "podtask"):
        return python
    print(
        f"podtask: `import podtask` fails with {python}; install it (pip install -e .) "
        "or pass --python /path/to/venv/bin/python"
    )
    return None


def podtask_cli(python: str) -> list[str]:
    """The ``podtask`` console script of the same venv (what a user types)."""
    script = venv_bin(python, "podtask")
    return [script] if script else [python, "-m", "podtask.cli.main"]


def podtask_subcommand_available(python: str, sub: str) -> tuple[bool, str]:
    cli = podtask_cli(python)
    try:
        r = subprocess.run(
            [*cli, sub, "--help"], capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, str(exc)
    if r.returncode != 0:
        return False, tail(r.stderr or r.stdout, 2)
    return True, ""


def scratch_dir(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=prefix))


def remove(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


# -------------------------------------------------------------------- tables


def print_context() -> None:
    """One line about the machine; warns when other work will skew the figures."""
    cpus = os.cpu_count() or 1
    load1, _, _ = os.getloadavg()
    print(f"machine: {cpus} CPU(s), load average {load1:.1f}, python {sys.version.split()[0]}")
    if load1 > cpus:
        print(
            f"WARNING: load average {load1:.1f} > {cpus} CPUs: other work is running, "
            "timings will be inflated and noisy; rerun on an idle machine"
        )


@dataclass
class Row:
    what: str
    podtask: str
    baseline: str
    ratio: str
    aim: str


def ratio(podtask: float | None, baseline: float | None) -> str:
    if podtask is None or baseline is None or podtask <= 0:
        return "-"
    return (
        f"{baseline / podtask:.1f}x faster"
        if baseline >= podtask
        else (f"{podtask / baseline:.1f}x slower")
    )


def secs(m: Measurement | None, *, na: str = "n/a") -> str:
    if m is None or not m.walls:
        return na
    text = f"{m.median:.3f} s (min {m.min:.3f})"
    return text + (f" [{m.failures} failed]" if m.failures else "")


def mb(m: Measurement | None, *, na: str = "n/a") -> str:
    return na if m is None or not m.max_rss_kb else f"{m.rss_mb:.0f} MB"


def print_table(title: str, rows: Sequence[Row]) -> None:
    headers = ("what", "podtask", "baseline", "ratio", "aim")
    cells = [headers, *[(r.what, r.podtask, r.baseline, r.ratio, r.aim) for r in rows]]
    widths = [max(len(c[i]) for c in cells) for i in range(len(headers))]
    print()
    print(title)
    line = "| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |"
    print(line)
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for c in cells[1:]:
        print("| " + " | ".join(v.ljust(w) for v, w in zip(c, widths, strict=True)) + " |")
    print()
