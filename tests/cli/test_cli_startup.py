"""Issue 11 acceptance 3: ``podtask --help`` stays cheap; it lists commands without loading them."""

from __future__ import annotations

import subprocess
import sys


def test_help_lists_every_command_without_importing_any() -> None:
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "podtask", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    for name in ("attach", "compile", "completion", "describe", "logs", "prune", "run", "runs"):
        assert f"\n  {name} " in proc.stdout
    imported = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines()}
    loaded = sorted(m for m in imported if m.startswith(("podtask.cli.", "podtask._")))
    assert loaded == ["podtask._errors", "podtask.cli.common", "podtask.cli.main"], loaded
