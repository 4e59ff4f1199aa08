"""`podtask export flyte` against `pyflyte package` of the same tasks written with flytekit.

Each example of examples/ has a flytekit twin in oracle/.  Both are packaged
and their TaskSpecs compared field by field; the only differences allowed are
listed below, each with why it is by design.  Any other difference fails.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.flyte.flytekit_tools import BIN, ORACLE, ROOT, diff, run, task_specs

IMAGE = "registry.example.com/tasks:1"

EXAMPLES = {
    "seed_working_example": ["my_sidecar_task"],
    "seed_simple_sidecar_task": ["simple_sidecar_task"],
    "typed_example": ["greet", "add"],
}

# By design: the runtime is podtask, not flytekit; the primary runs podtask's
# entrypoint in Flyte mode (contract.py) instead of pyflyte-execute; and podtask
# pins restartPolicy Never (a task's pod runs once; Flyte's pod plugin sets the same).
POD_DIFFERENCES = {
    "template.metadata.runtime.type",
    "template.metadata.runtime.version",
    "template.metadata.runtime.flavor",
    "template.k8sPod.podSpec.containers[primary].command",
    "template.k8sPod.podSpec.containers[primary].args",
    "template.k8sPod.podSpec.restartPolicy",
}
CONTAINER_DIFFERENCES = {
    "template.metadata.runtime.type",
    "template.metadata.runtime.version",
    "template.metadata.runtime.flavor",
    "template.container.command",
    "template.container.args",
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
            str(ROOT / "examples" / f"{module}.py"),
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
    allowed = POD_DIFFERENCES if "k8sPod" in theirs[key]["template"] else CONTAINER_DIFFERENCES
    unexpected = {p: v for p, v in differences.items() if p not in allowed}
    assert not unexpected, unexpected
    # The by-design differences are what we say they are.
    template = ours[key]["template"]
    assert template["metadata"]["runtime"]["flavor"] == "podtask"
    if "k8sPod" in template:
        (primary,) = [
            c for c in template["k8sPod"]["podSpec"]["containers"] if c["name"] == "primary"
        ]
        assert primary["command"] == ["python3", "-m", "podtask.entrypoint"]
        assert primary["args"][:3] == ["flyte", "--task", f"{module}:{task}"]
        assert "{{.rawOutputDataPrefix}}" in primary["args"]
