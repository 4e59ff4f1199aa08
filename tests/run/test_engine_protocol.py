"""The engine protocols: what the runner may ask of an engine, checked by type."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest

import podtask as api
from podtask._errors import SpecError
from podtask._run import (
    Engine,
    KubernetesOptions,
    LocalOptions,
    PodmanOptions,
    SurvivingEngine,
    engine_options,
)
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


def test_each_engine_names_its_own_options_class() -> None:
    kinds = {n: get_engine(n).options_type for n in ("local", "podman", "kubernetes")}
    assert kinds == {
        "local": LocalOptions,
        "podman": PodmanOptions,
        "kubernetes": KubernetesOptions,
    }


def test_flag_values_become_the_engines_typed_options() -> None:
    kube = get_engine("kubernetes")
    options = engine_options(
        kube, {"namespace": "team", "ship_code_include": ["data/*.csv"], "pull": None}
    )
    assert options == KubernetesOptions(namespace="team", ship_code_include=("data/*.csv",))
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.namespace = "other"  # type: ignore[misc]
    with pytest.raises(SpecError) as info:
        engine_options(get_engine("podman"), {"storage": "s3://bucket"})
    assert info.value.field == "--storage" and "podman engine" in str(info.value)


def test_a_bad_pull_policy_names_the_flag_and_its_choices() -> None:
    with pytest.raises(SpecError) as info:
        KubernetesOptions(pull="sometimes")
    assert info.value.field == "--pull" and "if-not-present" in (info.value.hint or "")


def test_another_engines_options_are_refused_before_anything_starts() -> None:
    home = Path(os.environ["PODTASK_HOME"])
    with pytest.raises(SpecError) as info:
        api.run(str(TASKS), {"a": 1}, task_name="add", options=KubernetesOptions(namespace="x"))
    assert info.value.field == "engine_options"
    assert "KubernetesOptions are not options of the local engine" in str(info.value)
    assert not (home / "runs").exists() or not any((home / "runs").iterdir())
