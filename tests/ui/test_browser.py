"""The browser tier: a real headless Chromium against the real ``podtask ui`` over real runs."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from tests.conftest import EXAMPLES
from tests.run.conftest import needs_namespaces
from tests.ui.browser import Page
from tests.ui.conftest import LIFECYCLE, TASKS, Ui, make_run, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow, needs_namespaces]

SEED = str(EXAMPLES / "seed_working_example.py")


def lane(page: Page, container: str) -> dict[str, float | None]:
    """A lane's bar and marks as the DOM holds them (seconds from the run's start)."""
    return page.eval(
        f"""(() => {{
        const lane = document.querySelector('.lane[data-container="{container}"]');
        if (!lane) return null;
        const num = (node, attr) => node && node.getAttribute(attr) !== '' ? Number(node.getAttribute(attr)) : null;
        const bar = lane.querySelector('.bar');
        const grace = lane.querySelector('.grace');
        const mark = (k) => num(lane.querySelector('.mark-' + k), 'data-t');
        return {{start: num(bar, 'data-start'), end: num(bar, 'data-end'),
                 left: bar ? bar.getBoundingClientRect().left : null,
                 right: bar ? bar.getBoundingClientRect().right : null,
                 ready: mark('ready'), sigterm: mark('sigterm'), sigkill: mark('sigkill'), exit: mark('exit'),
                 exitText: (lane.querySelector('.mark-exit') || {{}}).textContent || null,
                 graceStart: num(grace, 'data-start'), graceEnd: num(grace, 'data-end')}};
        }})()"""
    )


def open_run(page: Page, ui: Ui, run_id: str, lanes: int) -> None:
    page.goto(ui.page_url(f"/run/{run_id}"))
    page.wait_for(f"document.querySelectorAll('.lane').length === {lanes}")


def test_list_shows_a_run_made_seconds_before(ui: Ui, page: Page) -> None:
    run = make_run(SEED, "my_sidecar_task")
    page.goto(ui.url)
    row = f'#runs tr[data-run-id="{run["run_id"]}"]'
    assert page.wait_for(
        f"document.querySelector('{row}') && document.querySelector('{row}').innerText"
    )
    page.eval("window.__sameDocument = true")
    # A run made while the list is open appears in it by itself.
    later = make_run(str(LIFECYCLE), "sidecar_never_exits")
    page.wait_for(
        f"document.querySelector('#runs tbody tr').dataset.runId === '{later['run_id']}'",
        timeout=15,
    )
    assert page.eval("window.__sameDocument") is True
    assert page.eval(f"document.querySelector('{row}').dataset.phase") == "SUCCEEDED"
    assert "my_sidecar_task" in page.eval(f"document.querySelector('{row}').innerText")
    # The phase filter narrows the list; FAILED has no rows, so this run disappears.
    page.eval(
        "(() => { const s = document.querySelector('#f-phase'); s.innerHTML += '<option value=\"FAILED\">FAILED</option>'; s.value = 'FAILED'; s.dispatchEvent(new Event('change')); })()"
    )
    page.wait_for(
        f"!document.querySelector('{row}') && document.querySelector('#count').innerText.startsWith('0 runs')"
    )
    page.goto(ui.page_url("/?task=never"))  # the task filter, from the URL
    page.wait_for("document.querySelectorAll('#runs tr[data-run-id]').length === 1")
    assert (
        page.eval("document.querySelector('#runs tr[data-run-id]').dataset.runId")
        == later["run_id"]
    )


def test_wrong_or_missing_token_gets_no_data(ui: Ui, page: Page) -> None:
    run = make_run(SEED, "my_sidecar_task")
    rid = run["run_id"]
    paths = [
        "/",
        "/api/runs",
        f"/api/runs/{rid}",
        f"/api/runs/{rid}/logs/secondary",
        f"/run/{rid}",
        "/static/app.js",
        "/api/stream/runs",
    ]
    for path in paths:
        for token in (None, "wrong", ui.token[:-1], ui.token + "x"):
            status, body = ui.get(path, token=token)
            assert status == 403, (path, token)
            assert rid.encode() not in body and b"sidecar" not in body, (path, token)
    status, body = ui.get("/api/runs")
    assert status == 200 and rid.encode() in body  # the right token works
    # A page whose DNS name was rebound to 127.0.0.1 sends its own Host: refused, token or not.
    status, body = ui.get(
        "/api/runs", headers={"Host": f"evil.example:{ui.base.rsplit(':', 1)[1]}"}
    )
    assert status == 403 and rid.encode() not in body
    # In the browser: the page without the token shows the refusal and no run.
    page.goto(f"{ui.base}/run/{rid}")
    text = page.eval("document.body.innerText")
    assert "403" in text and rid not in text
    page.goto(f"{ui.base}/?token=wrong")
    text = page.eval("document.body.innerText")
    assert "403" in text and rid not in text


def test_seed_run_page_shows_two_lanes_the_secondary_starting_before_the_primary_ends(
    ui: Ui, page: Page
) -> None:
    run = make_run(SEED, "my_sidecar_task")
    open_run(page, ui, run["run_id"], lanes=2)
    names = page.eval("[...document.querySelectorAll('.lane')].map(l => l.dataset.container)")
    assert sorted(names) == ["primary", "secondary"]
    primary, secondary = lane(page, "primary"), lane(page, "secondary")
    assert primary["start"] is not None and primary["end"] is not None
    assert secondary["start"] < primary["end"]
    assert secondary["left"] < primary["right"]  # and it is drawn so
    assert (
        page.eval("document.querySelector('.lane[data-container=\"primary\"]').dataset.primary")
        == "true"
    )
    assert page.eval("document.querySelector('#phase').dataset.phase") == "SUCCEEDED"
    assert "hi sidecar world" not in page.eval(
        "document.querySelector('#log').innerText"
    )  # no log line; the file went to /data
    screenshot(page, "ui-seed-run.png")


def test_never_exiting_sidecar_has_a_stop_mark_after_the_primary_exits(ui: Ui, page: Page) -> None:
    run = make_run(str(LIFECYCLE), "sidecar_never_exits")
    open_run(page, ui, run["run_id"], lanes=2)
    primary, forever = lane(page, "primary"), lane(page, "forever")
    assert forever["sigterm"] is not None
    assert forever["sigterm"] >= primary["exit"] - 0.01
    assert forever["sigkill"] is None  # it obeyed SIGTERM
    assert forever["exitText"] == "exit 143"


def test_sigterm_ignoring_sidecar_has_its_sigkill_mark_at_the_grace_end(ui: Ui, page: Page) -> None:
    run = make_run(str(LIFECYCLE), "sidecar_ignores_sigterm")
    open_run(page, ui, run["run_id"], lanes=2)
    stubborn = lane(page, "stubborn")
    assert stubborn["sigterm"] is not None and stubborn["sigkill"] is not None
    # The grace period is 1 s: SIGKILL never comes before it ends (later only on a loaded machine).
    assert 0.95 <= stubborn["sigkill"] - stubborn["sigterm"] < 3.0
    assert stubborn["graceStart"] == stubborn["sigterm"]
    assert stubborn["graceEnd"] == stubborn["sigkill"]  # the shading ends where SIGKILL was sent
    assert stubborn["exitText"] == "exit 137"
    # Focusing the bar (keyboard users) shows its exact times.
    # Focus again on each try: a live redraw of the lanes may replace the focused bar.
    tip = page.wait_for(
        "(document.querySelector('.lane[data-container=\"stubborn\"] .bar').focus(),"
        " !document.querySelector('#tip').hidden && document.querySelector('#tip').innerText)"
    )
    assert "SIGKILL" in tip and "grace period ended" in tip and "exit 137" in tip


def test_running_run_shows_its_log_growing_then_its_phase_changing_without_reload(
    ui: Ui, page: Page
) -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "podtask",
            "run",
            str(TASKS),
            "slow_counter",
            "--lines",
            "10",
            "--every",
            "0.5",
            "--json",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        run_id = None
        while run_id is None and time.monotonic() < deadline:
            runs = ui.json("/api/runs?phase=RUNNING")["runs"]
            run_id = runs[0]["run_id"] if runs else None
            time.sleep(0.1)
        assert run_id, "the run never showed as RUNNING"
        page.goto(ui.page_url(f"/run/{run_id}"))
        page.eval("window.__sameDocument = true")
        page.wait_for(
            "document.querySelector('#phase') && document.querySelector('#phase').dataset.phase === 'RUNNING'"
        )
        page.wait_for(
            "(document.querySelector('#log') || {}).innerText?.includes('tick 1')", timeout=30
        )
        first = page.eval("document.querySelector('#log').innerText")
        assert "tick 9" not in first
        page.wait_for("document.querySelector('#log').innerText.includes('tick 6')", timeout=30)
        assert page.eval("document.querySelector('#phase').dataset.phase") == "RUNNING"
        page.wait_for("document.querySelector('#phase').dataset.phase === 'SUCCEEDED'", timeout=30)
        assert page.eval("window.__sameDocument") is True  # no reload happened
        assert "tick 9" in page.eval("document.querySelector('#log').innerText")
        # The log is searchable; a hit opens the log at its line.
        page.eval(
            "(() => { const s = document.querySelector('#log-search'); s.value = 'TICK 7';"
            " s.dispatchEvent(new KeyboardEvent('keydown', {key: 'Enter'})); })()"
        )
        hits = page.wait_for("[...document.querySelectorAll('#hits button')].map(b => b.innerText)")
        assert hits == ["8: tick 7"]
        page.eval("document.querySelector('#hits button').click()")
        page.wait_for("document.querySelector('#log').innerText.startsWith('tick 7')")
        assert page.eval("document.querySelectorAll('#log mark').length") == 1
        assert page.eval("document.querySelector('#outputs').innerText") == json.dumps(
            {"o0": 10}
        ).replace(" ", "")
    finally:
        proc.communicate(timeout=60)


def test_failed_run_shows_its_traceback(ui: Ui, page: Page) -> None:
    run = make_run(str(LIFECYCLE), "primary_raises", "--x", "7")
    assert run["phase"] == "FAILED"
    open_run(page, ui, run["run_id"], lanes=2)
    tb = page.wait_for(
        "document.querySelector('#traceback') && document.querySelector('#traceback').innerText"
    )
    assert "Traceback (most recent call last)" in tb
    assert "ValueError: bad value 7" in tb
    assert "raise ValueError" in tb
    assert page.eval("document.querySelector('#phase').dataset.phase") == "FAILED"
    screenshot(page, "ui-failed-run.png")


def test_a_long_log_shows_its_tail_and_pages_back(ui: Ui, page: Page) -> None:
    run = make_run(str(TASKS), "chatty")
    assert run["phase"] == "SUCCEEDED"
    open_run(page, ui, run["run_id"], lanes=2)
    page.wait_for("document.querySelector('#log').innerText.includes('chatty line 05999')")
    start = int(page.eval("document.querySelector('#log').dataset.start"))
    assert start > 0  # about 480 KB written: only the last page is loaded
    assert "chatty line 00000" not in page.eval("document.querySelector('#log').innerText")
    page.eval("document.querySelector('#log-earlier').click()")
    page.wait_for("document.querySelector('#log').dataset.start === '0'")
    text = page.eval("document.querySelector('#log').innerText")
    assert text.startswith("chatty line 00000") and "chatty line 05999" in text
    assert text.count("chatty line 03000 ") == 1  # pages join without a gap or an overlap


def test_retries_are_attempts_on_one_time_axis(ui: Ui, page: Page) -> None:
    run = make_run(str(TASKS), "fails_once")
    assert run["phase"] == "SUCCEEDED"
    open_run(page, ui, run["run_id"], lanes=4)
    lanes = page.eval(
        "[...document.querySelectorAll('.lane')].map(l => [Number(l.dataset.attempt), l.dataset.container,"
        " Number(l.querySelector('.bar').dataset.start), Number(l.querySelector('.bar').dataset.end)])"
    )
    attempts = [a for a, _, _, _ in lanes]
    assert attempts == sorted(attempts)  # attempt 1's lanes first, then attempt 2's
    assert sorted((a, c) for a, c, _, _ in lanes) == [
        (1, "helper"),
        (1, "primary"),
        (2, "helper"),
        (2, "primary"),
    ]
    first_end = max(end for a, _, _, end in lanes if a == 1)
    assert all(
        start >= first_end for a, _, start, _ in lanes if a == 2
    )  # no overlap between attempts
    assert page.eval("document.querySelectorAll('.attempt-start').length") >= 1
