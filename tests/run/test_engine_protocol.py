"""The engine protocols: what the runner may ask of an engine, checked by type."""

from __future__ import annotations

from pathlib import Path

from podtask._run import Engine, SurvivingEngine
from podtask.engines import get_engine
from tests.run.conftest import podtask

TASKS = Path(__file__).parent / "tasks" / "api_tasks.py"


def test_each_engine_is_an_engine_and_only_kubernetes_survives_the_client() -> None:
    for name in ("local", "podman", "kubernetes"):
        engine = get_engine(name)
        assert isinstance(engine, Engine), name
        assert isinstance(engine, SurvivingEngine) == (name == "kubernetes"), name


def test_an_option_the_engine_does_not_take_is_refused_before_anything_starts() -> None:
    r = podtask("run", str(TASKS), "add", "--a", "1", "--namespace", "team")
    assert r.returncode == 2, r.stderr
    assert "--namespace does not apply to the local engine" in r.stderr
    assert podtask("runs", "--json").stdout.strip() == "[]"
