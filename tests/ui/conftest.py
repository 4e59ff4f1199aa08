"""Fixtures for the browser tier: real runs, the real ``podtask ui`` and a headless Chromium."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli
from tests.ui.browser import Browser, Page, chromium_path

TASKS = Path(__file__).parent / "tasks.py"
LIFECYCLE = Path(__file__).parent.parent / "run" / "tasks" / "lifecycle_tasks.py"
SCREENSHOTS_ENV = "PODTASK_UI_SCREENSHOTS"  # a directory: the tests save the docs' screenshots


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    exe = chromium_path()
    if exe is None:
        why = "Chromium is not installed (apt-get install chromium; .ci/setup-chromium.sh)"
        if os.environ.get("CI"):
            pytest.fail(f"{why}: CI must run the browser tests", pytrace=False)
        pytest.skip(why)
    b = Browser(exe)
    try:
        yield b
    finally:
        b.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    p = browser.page()
    try:
        yield p
    finally:
        browser.send(
            "Target.closeTarget",
            {"targetId": p.send("Target.getTargetInfo")["targetInfo"]["targetId"]},
        )


@dataclass
class Ui:
    url: str  # as printed, with the token
    base: str
    token: str
    proc: subprocess.Popen[str]

    def page_url(self, path: str = "/") -> str:
        sep = "&" if "?" in path else "?"
        return f"{self.base}{path}{sep}token={self.token}"

    def get(
        self, path: str, *, token: str | None = "", headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        """GET ``path`` with the right token (default), another one, or none (``None``)."""
        if token == "":
            token = self.token
        sep = "&" if "?" in path else "?"
        full = self.base + path + (f"{sep}token={token}" if token is not None else "")
        req = urllib.request.Request(full, headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def json(self, path: str) -> Any:
        status, body = self.get(path)
        assert status == 200, body
        return json.loads(body)


@pytest.fixture
def ui(podtask_home: Path) -> Iterator[Ui]:
    """``podtask ui --port 0`` over the test's home; stopped (and checked stopped) at the end."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "podtask", "ui", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PODTASK_HOME": str(podtask_home)},
    )
    try:
        assert proc.stdout is not None
        url = ""
        for _ in range(5):
            line = proc.stdout.readline()
            m = re.search(r"(http://127\.0\.0\.1:\d+)/\?token=(\S+)", line)
            if m:
                url = m.group(0)
                break
        assert url, (
            f"podtask ui printed no URL: {proc.stderr.read() if proc.poll() is not None else ''}"
        )
        yield Ui(url=url, base=m.group(1), token=m.group(2), proc=proc)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            _, errors = proc.communicate(timeout=15)  # also closes the pipes
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            raise
    assert proc.returncode == 0, errors


def make_run(*args: str, check: bool = True) -> dict[str, Any]:
    """Run a task with the real CLI (local engine) and return its ``--json`` result."""
    r = run_cli("run", *args, "--json")
    if check:
        assert r.returncode in (0, 1), r.stderr
    return dict(json.loads(r.stdout))


def screenshot(page: Page, name: str) -> None:
    target = os.environ.get(SCREENSHOTS_ENV)
    if target:
        page.screenshot(Path(target) / name)
