"""The attempt's pod is shaped once, from the engine's declared capabilities."""

from __future__ import annotations

from typing import Any

import pytest

from podtask._compile.render import Capabilities, attempt_manifest, sidecar_mode_for
from podtask._contract import INPUT_PLACEHOLDER, OUTPUT_PREFIX_PLACEHOLDER

SERVES = {"name": "proxy", "command": ["proxy"], "ports": [{"containerPort": 8080}]}
ONE_SHOT = {"name": "writer", "command": ["sh", "-c", "echo hi > /shared/x"]}
CLUSTER = Capabilities(finishes_alone=True, native_sidecars=True)


def compiled(*sidecars: dict[str, Any]) -> dict[str, Any]:
    primary = {
        "name": "main",
        "command": ["python3", "-m", "podtask.entrypoint"],
        "args": ["--inputs", INPUT_PLACEHOLDER, "--output-prefix", OUTPUT_PREFIX_PLACEHOLDER],
    }
    return {"metadata": {}, "spec": {"containers": [primary, *sidecars]}}


@pytest.mark.parametrize(
    ("caps", "sidecars", "asked", "mode"),
    [
        (Capabilities(), (SERVES,), None, None),  # the engine stops the sidecars itself
        (CLUSTER, (SERVES,), None, "native"),
        (CLUSTER, (SERVES, ONE_SHOT), None, "managed"),  # a one-shot would be restarted
        (Capabilities(finishes_alone=True, native_sidecars=False), (SERVES,), None, "managed"),
        (CLUSTER, (ONE_SHOT,), "native", "native"),  # asked for: kept
    ],
)
def test_the_sidecar_mode_follows_the_engine(
    caps: Capabilities, sidecars: tuple[dict[str, Any], ...], asked: str | None, mode: str | None
) -> None:
    assert sidecar_mode_for(compiled(*sidecars), primary="main", mode=asked, caps=caps) == mode


def shaped(caps: Capabilities, mode: str | None, attempt: int = 1) -> dict[str, Any]:
    return attempt_manifest(
        compiled(SERVES),
        run_id="t-1",
        attempt=attempt,
        inputs="/runs/t-1/inputs.json",
        output_prefix="/runs/t-1/outputs",
        primary="main",
        sidecar_mode=mode,
        grace=5,
        caps=caps,
    )


def test_where_the_pod_cannot_see_the_runs_files_argv_carries_the_engines_io() -> None:
    def io(run_id: str, pod: str) -> tuple[str, str]:
        return f"s3://b/p/{run_id}/inputs.json", f"s3://b/p/{run_id}/{pod}/outputs"

    caps = Capabilities(entrypoint=("python3", "-m", "x.remote"), io=io)
    pod = shaped(caps, None, attempt=2)
    main = pod["spec"]["containers"][0]
    assert main["command"] == ["python3", "-m", "x.remote"]
    assert main["args"] == [
        "--inputs",
        "s3://b/p/t-1/inputs.json",
        "--output-prefix",
        "s3://b/p/t-1/t-1-a2/outputs",  # the pod's name, after the attempt's naming
    ]
    assert pod["spec"]["restartPolicy"] == "Never"
    assert pod["metadata"]["name"] == "t-1-a2"


def test_without_storage_the_primary_gets_the_runs_paths() -> None:
    main = shaped(Capabilities(entrypoint=("/venv/bin/python", "-m", "m")), None)["spec"][
        "containers"
    ][0]
    assert main["command"] == ["/venv/bin/python", "-m", "m"]
    assert main["args"][1::2] == ["/runs/t-1/inputs.json", "/runs/t-1/outputs"]


def test_native_mode_turns_sidecars_into_restartable_init_containers() -> None:
    pod = shaped(CLUSTER, "native")
    assert [c["name"] for c in pod["spec"]["containers"]] == ["main"]
    assert pod["spec"]["initContainers"] == [{**SERVES, "restartPolicy": "Always"}]
