"""Issue 11 item 10: the README's two commands each make their own environment.

CI runs the block after ``<!-- test-command -->``; the user's first command
makes another venv. If both used one directory, the second would reinstall
into the first's environment and neither would be tested alone.
"""

from __future__ import annotations

import re
import subprocess

from tests.conftest import ROOT

README = (ROOT / "README.md").read_text()


def _block_after(marker: str, *, right_after: bool) -> str:
    rest = README.split(marker, 1)[1]
    pattern = r"\s*```\n(.*?)\n```" if right_after else r"[^`]*?```\n(.*?)\n```"
    match = re.match(pattern, rest, re.S)
    assert match, f"no code block right after {marker!r}"
    return match.group(1)


def _venv_of(command: str) -> str:
    match = re.match(r"python3 -m venv (\S+) && \. (\S+)/bin/activate && ", command)
    assert match, command
    assert match.group(1) == match.group(2), command
    return match.group(1)


def test_the_two_commands_use_two_environments() -> None:
    first = _block_after("## Two commands", right_after=False)
    test = _block_after("<!-- test-command -->", right_after=True)  # where CI reads it
    assert "podtask run examples/" in first
    assert "scripts/test" in test
    run_venv, test_venv = _venv_of(first), _venv_of(test)
    assert run_venv != test_venv
    # Both are ignored by git, so ruff (which honours .gitignore) never lints them.
    for venv in (run_venv, test_venv):
        ignored = subprocess.run(
            ["git", "check-ignore", "-q", f"{venv}/lib/x.py"], cwd=ROOT, check=False
        )
        assert ignored.returncode == 0, f"{venv} is not in .gitignore"
