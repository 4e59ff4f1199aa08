"""`podtask export flyte` against `pyflyte package` of the same tasks written with flytekit.

Each example of examples/ has a flytekit twin in oracle/.  Both are packaged
and their TaskSpecs compared field by field; the only differences allowed are
listed below, each with why it is by design.  Any other difference fails.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.flyte.flytekit_tools import BIN, ORACLE, ROOT, diff, run, task_specs

IMAGE = "registry.example.com/tasks:1"
TASKS = Path(__file__).resolve().parent / "tasks"

# module -> its tasks; the podtask file is examples/MODULE.py or tests/flyte/tasks/MODULE.py,
# its flytekit twin oracle/MODULE.py. options_example covers every option and type exported.
EXAMPLES = {
    "seed_working_example": ["my_sidecar_task"],
    "seed_simple_sidecar_task": ["simple_sidecar_task"],
    "typed_example": ["greet", "add"],
    "options_example": ["crunch"],
}


def podtask_file(module: str) -> Path:
    path = ROOT / "examples" / f"{module}.py"
    return path if path.exists() else TASKS / f"{module}.py"


# By design: the runtime is podtask, not flytekit; the primary runs podtask's
# entrypoint in Flyte mode (contract.py) instead of pyflyte-execute; and podtask
# pins restartPolicy Never (a task's pod runs once; Flyte's pod plugin sets the same).
RUNTIME = {f"template.metadata.runtime.{f}" for f in ("type", "version", "flavor")}


def by_design(template: dict[str, Any]) -> set[str]:
    if "k8sPod" not in template:
        return RUNTIME | {"template.container.command", "template.container.args"}
    primary = template["config"]["primary_container_name"]
    containers = f"template.k8sPod.podSpec.containers[{primary}]"
    return RUNTIME | {
        f"{containers}.command",
        f"{containers}.args",
        "template.k8sPod.podSpec.restartPolicy",
    }


@pytest.fixture(scope="module")
def packages(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], dict[str, Any]]:
    out = tmp_path_factory.mktemp("packages")
    pkgs = [a for m in EXAMPLES for a in ("--pkgs", m)]
    run(
        str(BIN / "pyflyte"),
        *pkgs,
        "package",
        "--image",
        IMAGE,
        "-o",
        str(out / "flytekit.tgz"),
        cwd=ORACLE,
    )
    ours: dict[str, Any] = {}
    for module in EXAMPLES:
        d = out / module
        run(
            str(BIN / "podtask"),
            "export",
            "flyte",
            str(podtask_file(module)),
            "--image",
            IMAGE,
            "-o",
            str(d),
        )
        ours.update(task_specs(d / "flyte-package.tgz"))
    return ours, task_specs(out / "flytekit.tgz")


@pytest.mark.parametrize("module,task", [(m, t) for m, tasks in EXAMPLES.items() for t in tasks])
def test_taskspec_matches_pyflyte_package(
    packages: tuple[dict[str, Any], dict[str, Any]], module: str, task: str
) -> None:
    ours, theirs = packages
    key = f"{module}.{task}_1.pb"
    assert key in ours and key in theirs, (sorted(ours), sorted(theirs))
    differences = diff(ours[key], theirs[key])
    unexpected = {
        p: v for p, v in differences.items() if p not in by_design(theirs[key]["template"])
    }
    assert not unexpected, unexpected
    # The by-design differences are what we say they are.
    template = ours[key]["template"]
    assert template["metadata"]["runtime"]["flavor"] == "podtask"
    if "k8sPod" in template:
        name = template["config"]["primary_container_name"]
        (primary,) = [c for c in template["k8sPod"]["podSpec"]["containers"] if c["name"] == name]
    else:
        primary = template["container"]
    assert primary["command"] == ["python3", "-m", "podtask.entrypoint"]
    assert primary["args"][:3] == ["flyte", "--task", f"{module}:{task}"]
    assert "{{.rawOutputDataPrefix}}" in primary["args"]


def test_flytekit_task_file_exports_as_pyflyte_packages_it(tmp_path: Path) -> None:
    """The same flytekit source through both tools: podtask runs it with its own entrypoint."""
    source = TASKS / "flyte_tasks.py"
    run(str(BIN / "pyflyte"), "--pkgs", "flyte_tasks", "package", "--image", IMAGE,
        "-o", str(tmp_path / "flytekit.tgz"), cwd=TASKS)  # fmt: skip
    run(str(BIN / "podtask"), "export", "flyte", str(source), "--image", IMAGE, "-o", str(tmp_path))
    ours = task_specs(tmp_path / "flyte-package.tgz")
    theirs = task_specs(tmp_path / "flytekit.tgz")
    # By design: the tasks podtask refuses to run (pod_template_name, secret_requests) are
    # not exported; everything else is, field for field.
    assert set(theirs) - set(ours) == {
        "flyte_tasks.named_template_1.pb",
        "flyte_tasks.needs_secret_1.pb",
    }
    assert set(ours) < set(theirs)
    for key, spec in ours.items():
        unexpected = {
            p: v
            for p, v in diff(spec, theirs[key]).items()
            if p not in by_design(theirs[key]["template"])
        }
        assert not unexpected, (key, unexpected)
