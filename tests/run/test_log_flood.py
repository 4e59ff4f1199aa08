"""Log floods (issue 8 item 7): a bounded client, cut lines on the terminal, --max-log-size."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from podtask._run.follow import LINE_LIMIT, LogFollower
from podtask._storage import logcap
from podtask._storage.logcap import cut_log_head, parse_size
from tests.conftest import run_cli
from tests.run.conftest import needs_namespaces

FLOOD = Path(__file__).parent / "tasks" / "flood_tasks.py"
MiB = 1024 * 1024


# Measures from a small process: ru_maxrss counts a child's life before exec too, and a
# child forked from this (possibly large) pytest process would start with its RSS.
MEASURE = """
import os, subprocess, sys
with open(sys.argv[1], "wb") as out, open(sys.argv[2], "wb") as err:
    proc = subprocess.Popen(sys.argv[3:], stdout=out, stderr=err)
_, status, usage = os.wait4(proc.pid, 0)
print(os.waitstatus_to_exitcode(status), usage.ru_maxrss)
"""


def run_measured(tmp: Path, *args: str) -> tuple[int, float, str, str]:
    """Run the CLI; return its exit code, its peak RSS in MiB (wait4), stdout and stderr."""
    out_path, err_path = tmp / "stdout", tmp / "stderr"
    cli = [sys.executable, "-m", "podtask", *args]
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, str(out_path), str(err_path), *cli],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    rc, peak_kib = (int(x) for x in done.stdout.split())
    text = out_path.read_text(errors="replace"), err_path.read_text(errors="replace")
    return rc, peak_kib / 1024, *text


@needs_namespaces
def test_300_mb_without_a_newline_keeps_the_client_small(
    podtask_home: Path, tmp_path: Path
) -> None:
    rc, peak, out, err = run_measured(tmp_path, "run", str(FLOOD), "flood", "--mb", "300")
    assert rc == 0, err
    assert peak < 150, f"the podtask client peaked at {peak:.0f} MiB"  # it was 1234 MiB
    line = next(x for x in out.splitlines() if x.startswith("[primary] "))
    assert "line cut at" in line and len(line) < LINE_LIMIT + 200
    (run_dir,) = (podtask_home / "runs").iterdir()
    assert (run_dir / "logs" / "primary.log").stat().st_size == 300 * MiB  # the file stays whole


@needs_namespaces
def test_max_log_size_keeps_the_newest_bytes_and_describe_says_so(podtask_home: Path) -> None:
    r = run_cli(
        "run", str(FLOOD), "flood", "--mb", "50", "--tail", "THE-END", "--max-log-size", "1M"
    )
    assert r.returncode == 0, r.stderr
    (run_dir,) = (podtask_home / "runs").iterdir()
    log = (run_dir / "logs" / "primary.log").read_bytes()
    assert len(log) <= MiB and log.endswith(b"\nTHE-END\n")
    described = run_cli("describe", run_dir.name)
    assert "log-cut" in described.stdout and "--max-log-size" in described.stdout


def test_a_bad_max_log_size_starts_nothing(podtask_home: Path) -> None:
    r = run_cli("run", str(FLOOD), "flood", "--max-log-size", "lots")
    assert r.returncode == 2
    assert "--max-log-size" in r.stderr and "Traceback" not in r.stderr
    assert not (podtask_home / "runs").exists() or not any((podtask_home / "runs").iterdir())


def test_parse_size() -> None:
    assert parse_size("10M") == 10 * MiB
    assert parse_size("512KiB") == 512 * 1024
    assert parse_size("65536") == 65536
    with pytest.raises(ValueError, match="max-log-size"):
        parse_size("12")


def test_follower_reassembles_lines_and_cuts_long_ones(tmp_path: Path) -> None:
    logs = tmp_path / "r" / "logs"
    logs.mkdir(parents=True)
    lines: list[tuple[str, str]] = []
    follower = LogFollower(logs, lambda c, line: lines.append((c, line)), line_limit=10)
    path = logs / "main.log"
    with open(path, "ab") as f:
        f.write(b"short\nsp")
        f.flush()
        follower._poll(final=False)
        f.write(b"lit\n" + b"y" * 25 + b"\nafter\nno-newline")
    follower.stop()
    assert [line for _, line in lines] == [
        "short",
        "split",
        "y" * 10 + " [line cut at 10 bytes for the terminal; `podtask logs` has it whole]",
        "after",
        "no-newline",
    ]


@pytest.mark.parametrize("collapse", [True, False], ids=["collapse-range", "copy-and-truncate"])
def test_cut_log_head_keeps_the_newest_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, collapse: bool
) -> None:
    if not collapse:
        monkeypatch.setattr(logcap, "_collapse", lambda fd, length: False)
    path = tmp_path / "c.log"
    data = bytes(range(256)) * 4096  # 1 MiB
    path.write_bytes(data)
    dropped = cut_log_head(path, 100_000)
    kept = path.read_bytes()
    assert len(kept) <= 100_000 and dropped == len(data) - len(kept)
    assert data.endswith(kept) and len(kept) > 100_000 - 4096


def test_copy_log_frames_lines_across_chunks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    from podtask._run import follow

    monkeypatch.setattr(follow, "CHUNK", 3)  # split lines and a UTF-8 character across reads
    path = tmp_path / "c.log"
    path.write_bytes("héllo\n\nwörld\nlast".encode())
    out = io.StringIO()
    follow.copy_log(path, out, prefix="[c] ")
    assert out.getvalue() == "[c] héllo\n[c] \n[c] wörld\n[c] last\n"
    raw = io.StringIO()
    follow.copy_log(path, raw)
    assert raw.getvalue() == "héllo\n\nwörld\nlast"


@needs_namespaces
def test_podtask_logs_prints_a_300_mb_line_whole_and_stays_small(tmp_path: Path) -> None:
    r = run_cli("run", str(FLOOD), "flood", "--mb", "300", "--json")
    assert r.returncode == 0, r.stderr
    run_id = json.loads(r.stdout)["run_id"]
    rc, peak, _, err = run_measured(tmp_path, "logs", run_id)
    assert rc == 0, err
    assert peak < 150, f"podtask logs peaked at {peak:.0f} MiB"  # it was 1222 MiB
    assert (tmp_path / "stdout").stat().st_size == len("[primary] ") + 300 * MiB + 1
