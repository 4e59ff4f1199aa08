"""Shared fixtures: an isolated PODTASK_HOME and paths to the examples."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


@pytest.fixture(autouse=True)
def podtask_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """Never touch the user's ~/.podtask from tests."""
    home = tmp_path_factory.mktemp("podtask-home")
    monkeypatch.setenv("PODTASK_HOME", str(home))
    yield home


def run_cli(
    *args: str,
    cwd: Path | None = None,
    timeout: float = 120,
    env: dict[str, str] | None = None,
    input: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run the real ``podtask`` CLI in a subprocess, as a user would."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "podtask", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        input=input,
    )


# In CI a tier that cannot run is a failure, not a skip: a tier that CI skips is a tier
# nobody tests. `.ci/run` sets PODTASK_REQUIRE_TIERS=1. Only the live-cluster tier
# (`-m cluster`) may still skip there, because no cluster can be installed on CI machines.
@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if (
        report.skipped
        and not hasattr(report, "wasxfail")  # an expected failure is not a skipped tier
        and os.environ.get("PODTASK_REQUIRE_TIERS") == "1"
        and item.get_closest_marker("cluster") is None
    ):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = (
            f"this tier must run in CI (PODTASK_REQUIRE_TIERS=1) but was skipped: {reason}"
        )
