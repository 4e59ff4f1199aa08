"""Issue 8 item 10: a Ctrl-C in the first moments of ``podtask run`` exits 130, never 1."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from tests.cli.conftest import PODTASK_SCRIPT, write_task_file

TRIES = 40
WINDOW_S = 0.1


def _interpreter_start_s() -> float:
    """How long a bare interpreter takes to start here: before that, Python alone decides."""
    times = []
    for _ in range(5):
        began = time.monotonic()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        times.append(time.monotonic() - began)
    return max(times)


def test_ctrl_c_in_the_first_tenth_of_a_second_exits_130(tmp_path: Path, needs_root: None) -> None:
    task = write_task_file(
        tmp_path,
        "napping.py",
        """
        import time
        import podtask

        @podtask.task
        def nap(seconds: float = 30.0) -> None:
            time.sleep(seconds)
        """,
    )
    start = _interpreter_start_s()
    seen: list[tuple[float, int, str]] = []
    for i in range(TRIES):
        delay = start + WINDOW_S * i / TRIES
        cmd = (
            [str(PODTASK_SCRIPT), "run", str(task)]
            if i % 2
            else [sys.executable, "-m", "podtask", "run", str(task)]
        )
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(delay)  # the moment of the interrupt is what is under test
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
        seen.append((delay, proc.returncode, err))
    for delay, code, err in seen:
        assert "Aborted!" not in err, (delay, err)
        if code != 130:
            # Only before the CLI package ran (Python starting, site, runpy, the bare
            # ``podtask`` package being read) does Python itself decide; from the CLI's
            # first line on, every interrupt is a 130.
            assert f"podtask{os.sep}cli{os.sep}" not in err, (delay, code, err)
            assert code in (1, -signal.SIGINT), (delay, code, err)
    assert sum(code == 130 for _, code, _ in seen) >= TRIES // 2, [c for _, c, _ in seen]


def test_an_interrupt_wrapped_by_class_creation_still_counts_as_one() -> None:
    """Python 3.11 wraps an exception from ``__set_name__`` in RuntimeError; a Ctrl-C landing
    there (a dataclass being built during a lazy import) must still exit 130, not 1."""
    from podtask.cli.common import caused_by_interrupt

    class Field:
        def __set_name__(self, owner: type, name: str) -> None:
            raise KeyboardInterrupt

    try:
        type("Built", (), {"f": Field()})
    except BaseException as exc:  # which one Python raises is the point
        caught: BaseException = exc
    assert caused_by_interrupt(caught)
    assert not caused_by_interrupt(RuntimeError("plain"))
    try:
        try:
            raise ValueError("inner")
        except ValueError as inner:
            raise RuntimeError("outer") from inner
    except RuntimeError as exc:
        assert not caused_by_interrupt(exc)


# -- a Ctrl-C while the run is in flight is a 130, even when the primary finished anyway --

RACING_TASK = """
import time
from pathlib import Path

import podtask

FLAGS = Path("@FLAGS@")  # a hostPath: the test and the primary see the same files


@podtask.task(
    pod=podtask.Pod(
        spec={
            "containers": [
                {"name": "primary", "volumeMounts": [{"name": "flags", "mountPath": str(FLAGS)}]},
                # Takes a second to stop: the client is still in flight after the primary ended.
                {
                    "name": "slow-to-stop",
                    "command": [
                        "/bin/sh", "-c", "trap 'sleep 1; exit 0' TERM; sleep 1000 & wait"
                    ],
                },
            ],
            "volumes": [{"name": "flags", "hostPath": {"path": str(FLAGS)}}],
        }
    )
)
def racing() -> int:
    (FLAGS / "running").touch()
    while not (FLAGS / "go").exists():
        time.sleep(0.005)
    (FLAGS / "returning").touch()
    return 42
"""


def _wait_for(path: Path, proc: subprocess.Popen[str], timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while not path.exists():
        assert proc.poll() is None, proc.communicate()
        if time.monotonic() > end:
            proc.send_signal(signal.SIGINT)
            raise AssertionError(f"{path.name} never appeared: {proc.communicate(timeout=60)}")
        time.sleep(0.005)


def _start_racing(tmp_path: Path) -> tuple[subprocess.Popen[str], Path]:
    flags = tmp_path / "flags"
    flags.mkdir()
    task = write_task_file(tmp_path, "racing.py", RACING_TASK.replace("@FLAGS@", str(flags)))
    proc = subprocess.Popen(
        [str(PODTASK_SCRIPT), "run", str(task), "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _wait_for(flags / "running", proc)
    return proc, flags


def _describe(run_id: str) -> str:
    done = subprocess.run(
        [str(PODTASK_SCRIPT), "describe", run_id], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_ctrl_c_after_the_primary_returned_still_exits_130(
    tmp_path: Path, needs_root: None
) -> None:
    """The primary has returned 42; the client is stopping the sidecar when Ctrl-C lands."""
    import json

    proc, flags = _start_racing(tmp_path)
    (flags / "go").touch()
    _wait_for(flags / "returning", proc)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, (out, err)
    doc = json.loads(out)
    # The primary's own result stands (as in Flyte and Argo), and says it was interrupted.
    assert doc["phase"] == "SUCCEEDED", doc
    assert doc["outputs"] == {"o0": 42}, doc
    assert doc["interrupted"] is True, doc
    assert "interrupted" in doc["message"], doc
    shown = _describe(doc["run_id"])
    assert "Phase:" in shown and "SUCCEEDED" in shown, shown
    assert "interrupted" in shown, shown


def test_ctrl_c_as_the_primary_exits_exits_130(tmp_path: Path, needs_root: None) -> None:
    """The primary is released just before the Ctrl-C: whichever wins, the exit is 130."""
    import json

    for _ in range(3):
        proc, flags = _start_racing(tmp_path)
        (flags / "go").touch()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 130, (out, err)
        doc = json.loads(out)
        assert doc["interrupted"] is True, doc
        if doc["phase"] == "SUCCEEDED":
            assert doc["outputs"] == {"o0": 42}, doc
        else:
            assert doc["phase"] == "ABORTED", doc
        for name in ("running", "go", "returning"):
            (flags / name).unlink(missing_ok=True)
        flags.rmdir()


def test_ctrl_c_while_the_process_exits_is_130_without_a_traceback(tmp_path: Path) -> None:
    """The command is over (``sys.exit`` is unwinding) when the Ctrl-C lands: still 130.

    Python restores SIGINT's default action during shutdown, so such a Ctrl-C
    ended the process by the signal (exit -2) in the full soak."""
    script = tmp_path / "late_ctrl_c.py"
    script.write_text(
        textwrap.dedent(
            """
            import os, signal, sys
            from podtask.cli import common, main

            real_leaving = common.leaving

            def leaving_then_ctrl_c(code):
                real_leaving(code)
                os.kill(os.getpid(), signal.SIGINT)  # lands as the process leaves

            common.leaving = leaving_then_ctrl_c
            sys.argv = ["podtask", "runs"]
            main.main()
            """
        )
    )
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 130, done
    assert "Traceback" not in done.stderr, done.stderr
