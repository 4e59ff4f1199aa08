"""``podtask ui`` at scale: a home with 10,000 runs, and a run with a 100 MB log.

    python bench/bench_ui.py [--runs 10000] [--log-mb 100] [--repeat 3] [--no-browser]

Seeds a temporary ``PODTASK_HOME`` (the run table and container rows written
straight into the schema in one transaction, since 10,000 real runs would take
an hour; one run gets a real run directory with a 100 MB primary log), starts
the real ``podtask ui`` and measures, over HTTP and in headless Chromium
(Debian's, driven as the browser tests drive it):

- opening the runs list: the page, its script and the first page of runs, and
  in the browser, from navigation until the newest 200 rows are drawn;
- a filtered list (phase and task substring) over the 10,000;
- opening the run with the 100 MB log: until its log shows, and how many bytes
  of log the page fetched (a tail page; the log is never loaded whole);
- searching the whole 100 MB log on the server; the server's peak memory.

It measures and prints; it asserts nothing. Aim (issue 14): the list opens in
under a second; the big log's page loads only a page of it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

ROWS_DRAWN = "document.querySelectorAll('#runs tr[data-run-id]').length >= 200"
LOG_SHOWN = "(document.querySelector('#log') || {}).innerText?.includes('processed record')"
LOG_BYTES = (
    "performance.getEntriesByType('resource').filter(e => e.name.includes('/logs/'))"
    ".reduce((a, e) => a + e.encodedBodySize, 0)"
)
PHASES = ("SUCCEEDED", "SUCCEEDED", "SUCCEEDED", "FAILED", "ABORTED", "LOST")


def seed_home(home: Path, runs: int, log_mb: int) -> str:
    from podtask._storage import RunDir, RunStore

    RunStore.in_home(home).close()  # the schema, as podtask makes it
    db = sqlite3.connect(home / "podtask.db")
    now = time.time() - runs * 5
    rows, containers = [], []
    for i in range(runs):
        rid = f"task-{i % 37:02d}-{i:06d}"
        t0 = now + i * 5
        phase = PHASES[i % len(PHASES)]
        rows.append(
            (
                rid,
                f"bench:task_{i % 37}",
                "/bench.py",
                "local",
                phase,
                "Completed",
                t0,
                t0 + 2,
                t0 + 2,
                1,
                str(home / "runs" / rid),
                0,
            )
        )
        for name, primary in (("primary", 1), ("sidecar", 0)):
            containers.append((rid, 1, name, "regular", primary, t0 + 0.1, t0 + 0.1, t0 + 1.9, 0))
    with db:
        db.executemany(
            "INSERT INTO runs (run_id, task, source, engine, phase, reason, created_at, "
            "updated_at, ended_at, attempts, run_dir, exit_code) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            rows,
        )
        db.executemany(
            "INSERT INTO containers (run_id, attempt, name, kind, is_primary, started_at, "
            "ready_at, finished_at, exit_code) VALUES (?,?,?,?,?,?,?,?,?)",
            containers,
        )
    db.close()
    big = rows[-1][0]
    rd = RunDir.create(home, big)
    rd.pod_yaml.write_text(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  annotations:\n"
        "    podtask.io/primary-container: primary\nspec:\n  containers:\n"
        "  - name: primary\n  - name: sidecar\n"
    )
    line = "2026-01-01T00:00:00Z worker INFO processed record {:09d} status=ok bytes=4096\n"
    target = log_mb * 1024 * 1024
    with rd.log_path("primary").open("w") as f:
        written, i = 0, 0
        while written < target:
            chunk = "".join(line.format(i + k) for k in range(10_000))
            f.write(chunk)
            written += len(chunk)
            i += 10_000
        f.write("needle: the one line the search must find\n")
    rd.log_path("sidecar").write_text("sidecar ready\n")
    return big


def timed(fn, repeat: int) -> tuple[float, object]:
    times, value = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), value


def get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=60) as r:
        return r.read()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--runs", type=int, default=10_000)
    p.add_argument("--log-mb", type=int, default=100)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--no-browser", action="store_true")
    args = p.parse_args()
    home = Path(tempfile.mkdtemp(prefix="podtask-bench-ui-"))
    proc = None
    browser = None
    try:
        t = time.perf_counter()
        big = seed_home(home, args.runs, args.log_mb)
        took = time.perf_counter() - t
        print(f"seeded {args.runs} runs and a {args.log_mb} MB log in {took:.1f} s")
        proc = subprocess.Popen(
            [sys.executable, "-m", "podtask", "ui", "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PODTASK_HOME": str(home)},
        )
        assert proc.stdout is not None
        m = None
        while m is None:
            m = re.search(r"(http://\S+)/\?token=(\S+)", proc.stdout.readline())
        base, token = m.group(1), m.group(2)
        rows: list[tuple[str, str]] = []
        api = f"{base}/api/runs"
        log_url = f"{api}/{big}/logs/primary"

        def add(what: str, figure: str) -> None:
            rows.append((what, figure))

        def http_list() -> int:
            get(f"{base}/?token={token}")
            get(f"{base}/static/app.js?token={token}")
            return len(json.loads(get(f"{base}/api/runs?token={token}"))["runs"])

        s, n = timed(http_list, args.repeat)
        add("runs list over HTTP (page + script + newest runs)", f"{s * 1000:.0f} ms ({n} rows)")
        filtered = f"{api}?token={token}&phase=FAILED&task=task_3"
        s, data = timed(lambda: json.loads(get(filtered)), args.repeat)
        add(
            "filtered list (phase=FAILED, task contains 'task_3')",
            f"{s * 1000:.0f} ms ({data['total']} match)",
        )
        s, _ = timed(lambda: get(f"{log_url}?token={token}"), args.repeat)
        add("tail page of the 100 MB log over HTTP", f"{s * 1000:.0f} ms")
        s, found = timed(lambda: json.loads(get(f"{log_url}/search?token={token}&q=NEEDLE")), 1)
        add(
            f"search the whole {args.log_mb} MB log (server side)",
            f"{s:.2f} s ({len(found['matches'])} match)",
        )
        if not args.no_browser:
            from tests.ui.browser import Browser, chromium_path

            exe = chromium_path()
            if exe is None:
                rows.append(("browser figures", "skipped: chromium not installed"))
            else:
                browser = Browser(exe)
                page = browser.page()
                list_times, run_times = [], []
                fetched = heap = 0
                for _ in range(args.repeat):
                    page.goto("about:blank")
                    t = time.perf_counter()
                    page.send("Page.navigate", {"url": f"{base}/?token={token}"})
                    page.wait_for(ROWS_DRAWN, every=0.01)
                    list_times.append(time.perf_counter() - t)
                    page.goto("about:blank")
                    t = time.perf_counter()
                    page.send("Page.navigate", {"url": f"{base}/run/{big}?token={token}"})
                    page.wait_for(LOG_SHOWN, every=0.01)
                    run_times.append(time.perf_counter() - t)
                    fetched = page.eval(LOG_BYTES)
                    heap = page.eval("performance.memory ? performance.memory.usedJSHeapSize : 0")
                listed = statistics.median(list_times) * 1000
                opened = statistics.median(run_times) * 1000
                add(f"browser: runs list drawn (newest 200 of {args.runs})", f"{listed:.0f} ms")
                add(
                    f"browser: run page with the {args.log_mb} MB log, log shown",
                    f"{opened:.0f} ms",
                )
                add(
                    "browser: log bytes the run page fetched",
                    f"{fetched / 1024:.0f} KiB of {args.log_mb} MiB",
                )
                add("browser: page's JS heap after opening it", f"{heap / 1e6:.1f} MB")
        status = Path(f"/proc/{proc.pid}/status").read_text()
        hwm = re.search(r"VmHWM:\s+(\d+) kB", status)
        add("podtask ui server peak RSS", f"{int(hwm.group(1)) / 1024:.0f} MB" if hwm else "?")
        width = max(len(r[0]) for r in rows)
        print(f"\n{'what':<{width}}  figure")
        for what, figure in rows:
            print(f"{what:<{width}}  {figure}")
    finally:
        if browser is not None:
            browser.close()
        if proc is not None:
            proc.send_signal(signal.SIGTERM)
            proc.communicate(timeout=30)
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
