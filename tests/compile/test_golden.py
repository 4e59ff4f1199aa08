"""Golden files: the committed compiled output of every example; drift fails.

Regenerate with ``PODTASK_REGEN_GOLDEN=1 pytest tests/compile/test_golden.py``
and review the diff like any other change.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from podtask._compile import to_json, to_yaml
from podtask.cli.compile_cmd import compile_file
from tests.conftest import EXAMPLES, ROOT

GOLDEN = ROOT / "tests" / "golden"
EXAMPLE_FILES = sorted(p.name for p in EXAMPLES.glob("*.py"))


def test_every_kind_of_example_is_covered() -> None:
    assert {
        "seed_working_example.py",
        "seed_simple_sidecar_task.py",
        "v1podspec_example.py",
        "yaml_example.py",
        "typed_example.py",
    } <= set(EXAMPLE_FILES)


def regenerating() -> bool:
    """Whether to rewrite the golden files; never in CI, where drift must fail instead."""
    if not os.environ.get("PODTASK_REGEN_GOLDEN"):
        return False
    if os.environ.get("CI"):
        pytest.fail("PODTASK_REGEN_GOLDEN is refused when CI is set: regenerate locally and review")
    return True


def test_regeneration_is_refused_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PODTASK_REGEN_GOLDEN", "1")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="refused when CI is set"):
        regenerating()


@pytest.mark.parametrize("example", EXAMPLE_FILES)
def test_compiled_output_matches_golden(example: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PODTASK_IMAGE", raising=False)
    compiled = compile_file(str(EXAMPLES / example), None, None)
    assert compiled, f"{example} has no tasks"
    folder = GOLDEN / Path(example).stem
    for c in compiled:
        for suffix, text in (
            (".task.json", to_json(c.template)),
            (".pod.yaml", to_yaml(c.manifest)),
        ):
            path = folder / f"{c.name}{suffix}"
            if regenerating():
                folder.mkdir(parents=True, exist_ok=True)
                path.write_text(text)
            assert path.exists(), f"no golden file {path}; run with PODTASK_REGEN_GOLDEN=1"
            assert path.read_text() == text, f"{path} drifted; regenerate and review the diff"
