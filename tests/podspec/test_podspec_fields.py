"""Pod-spec field names checked without kubernetes-validate (review s17 item 8)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from tests.conftest import EXAMPLES, ROOT, run_cli

BOGUS = """
import podtask

@podtask.task(pod=podtask.Pod(spec={"containers": [{"name": "primary", "bogusField": 1}]}))
def t(x: int) -> int:
    return x
"""


@pytest.fixture
def without_validate(tmp_path: Path) -> dict[str, str]:
    """The environment of a CLI whose kubernetes-validate cannot be imported (the base install)."""
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "kubernetes_validate.py").write_text("raise ImportError('not installed')\n")
    return {"PYTHONPATH": str(shim)}


@pytest.mark.parametrize("args", [["compile"], ["compile", "--strict"], ["run"]])
def test_unknown_field_is_refused_without_the_validate_extra(
    tmp_path: Path, podtask_home: Path, without_validate: dict[str, str], args: list[str]
) -> None:
    task = tmp_path / "bogus.py"
    task.write_text(BOGUS)
    extra = ["--x", "1"] if args == ["run"] else []
    proc = run_cli(*args, str(task), *extra, env=without_validate)
    assert proc.returncode == 2, proc.stderr
    assert "error: spec.containers[0].bogusField: unknown field 'bogusField'" in proc.stderr
    runs = podtask_home / "runs"
    assert not runs.exists() or not any(runs.iterdir())


@pytest.mark.parametrize("example", sorted(EXAMPLES.glob("*.py")), ids=lambda p: p.name)
def test_examples_pass_the_name_check(example: Path, without_validate: dict[str, str]) -> None:
    proc = run_cli("compile", str(example), env=without_validate)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.skipif(
    importlib.util.find_spec("kubernetes_validate") is None, reason="needs kubernetes-validate"
)
def test_shipped_table_is_what_the_generator_writes(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location(
        "podspec_fields", ROOT / "scripts/podspec_fields.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = tmp_path / "fields.json"
    module.main(out)
    shipped = ROOT / "src/podtask/_podspec/podspec_fields.json"
    assert out.read_text() == shipped.read_text()
