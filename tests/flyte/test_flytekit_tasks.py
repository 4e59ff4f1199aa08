"""flytekit tasks run by podtask with their sidecars: local engine, kubernetes (test API server).

The acceptance case is Flyte's compile-time PodTemplate (a primary and a
sidecar sharing a volume): SUCCEEDED, the primary read what the sidecar
wrote, and the sidecar, still running when the primary ended, was stopped.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip(
    "flytekit", reason="needs flytekit: scripts/test runs tests/flyte in .venv-flyte"
)

from tests.conformance.conftest import podman_leftovers, podman_problem
from tests.flyte.flytekit_tools import BIN, make_tree, tree

TASKS = Path(__file__).resolve().parent / "tasks" / "flyte_tasks.py"


def podtask(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION": "python", **(env or {})}
    cmd = [str(BIN / "podtask"), *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=180, env=full)


def run_json(*args: str, env: dict[str, str] | None = None, file: Path = TASKS) -> dict[str, Any]:
    proc = podtask("run", str(file), *args, "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    doc: dict[str, Any] = json.loads(proc.stdout)
    return doc


def assert_sidecar_pod_ran(doc: dict[str, Any], who: str) -> None:
    assert doc["phase"] == "SUCCEEDED", doc
    assert doc["outputs"] == {"o0": f"hello {who}: hi pod world"}  # the sidecar's file, read
    containers = {c["name"]: c for c in doc["containers"]}
    assert containers["primary"]["exit_code"] == 0
    sidecar = containers["secondary"]
    assert sidecar["state"] == "terminated"
    if doc["engine"] == "kubernetes":
        # Managed mode there (a sidecar that may end on its own runs once): the primary's
        # entrypoint sends the SIGTERM, after its outputs are written, so no engine event.
        assert sidecar["exit_code"] == 143, sidecar
        assert sidecar["finished_at"] >= containers["primary"]["started_at"]
    else:
        assert sidecar["stop_signal_at"] is not None  # stopped by podtask, not on its own
        assert sidecar["stop_signal_at"] >= containers["primary"]["finished_at"]
    assert doc["sidecar_issues"] == []


def test_flyte_docs_pod_template_on_the_local_engine() -> None:
    doc = run_json("shared_volume_task", "--name", "ann")
    assert doc["engine"] == "local"
    assert_sidecar_pod_ran(doc, "ann")
    described = podtask("describe", doc["run_id"])
    assert described.returncode == 0, described.stderr
    assert "secondary" in described.stdout and "SUCCEEDED" in described.stdout


@pytest.fixture(scope="module")
def kubeconfig() -> Iterator[tuple[str, Any]]:
    from podtask.testing.apiserver import ApiServer

    with ApiServer.start(version="v1.30.0") as srv:
        yield str(srv.kubeconfig_path), srv


def test_flyte_docs_pod_template_on_kubernetes(kubeconfig: tuple[str, Any]) -> None:
    import urllib.request

    path, srv = kubeconfig
    doc = run_json("shared_volume_task", "--name", "kube", "--engine", "kubernetes",
                   env={"KUBECONFIG": path})  # fmt: skip
    assert doc["engine"] == "kubernetes"
    assert_sidecar_pod_ran(doc, "kube")
    request = urllib.request.Request(f"{srv.url}/api/v1/pods", headers=srv.auth_headers)
    with urllib.request.urlopen(request, context=srv.ssl_context) as response:
        assert json.loads(response.read())["items"] == []  # the pod was deleted at the end


@pytest.mark.podman
@pytest.mark.skipif(bool(podman_problem()), reason=str(podman_problem()))
def test_flyte_docs_pod_template_on_podman() -> None:
    from tests.flyte.podman_image import flyte_image

    image = flyte_image()  # localhost/podtask-python + flytekit + this checkout
    # The sidecar's `sleep` is PID 1 of its container and ignores SIGTERM: a short grace.
    doc = run_json("shared_volume_task", "--name", "pod", "--engine", "podman",
                   "--image", image, "--grace", "2")  # fmt: skip
    assert doc["engine"] == "podman"
    assert_sidecar_pod_ran(doc, "pod")
    assert podman_leftovers("podtask.io/task=shared-volume-task") == ""


def test_task_without_pod_template_runs_as_one_container_with_defaults() -> None:
    doc = run_json("plain", "--a", "21")
    assert doc["phase"] == "SUCCEEDED"
    assert doc["outputs"] == {"o0": 42}
    assert [c["name"] for c in doc["containers"]] == ["primary"]


def test_flytefile_in_and_out(tmp_path: Path) -> None:
    src = tmp_path / "three.txt"
    src.write_text("a\nb\nc\n")
    doc = run_json("count_lines", "--src", str(src))
    assert doc["phase"] == "SUCCEEDED", doc
    assert doc["outputs"]["lines"] == 3
    assert Path(doc["outputs"]["copy"]).read_text() == "a\nb\nc\n"


def test_flytedirectory_in_and_out(tmp_path: Path) -> None:
    src = make_tree(tmp_path / "src", {"a.txt": "alpha", "sub/b.txt": "beta"})
    note = make_tree(tmp_path / "notes", {"n1.md": "remember"}) / "n1.md"
    doc = run_json("catalogue", "--src", str(src), "--notes", json.dumps([str(note)]))
    assert doc["phase"] == "SUCCEEDED", doc
    names = ["a.txt", "notes/n1.md", "sub/b.txt"]
    assert doc["outputs"]["names"] == names
    out = Path(doc["outputs"]["tree"])
    assert "/outputs/blobs/" in str(out)  # stored with the run, not in the task's temp dir
    assert tree(out) == {
        "a.txt": "alpha", "sub/b.txt": "beta", "notes/n1.md": "remember",
        "INDEX": "\n".join(names),
    }  # fmt: skip


def test_flytedirectory_input_must_be_an_existing_directory(tmp_path: Path) -> None:
    proc = podtask("run", str(TASKS), "catalogue", "--src", str(tmp_path / "nope"),
                   "--notes", "[]")  # fmt: skip
    assert proc.returncode == 2
    assert "no such directory" in proc.stderr and "src" in proc.stderr, proc.stderr


def test_compile_keeps_the_pod_template_and_the_task_options(tmp_path: Path) -> None:
    proc = podtask("compile", str(TASKS), "--task", "shared_volume_task", "-o", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    template = json.loads((tmp_path / "shared_volume_task.task.json").read_text())
    assert template["primaryContainerName"] == "primary"
    assert template["labels"] == {"team": "ml"}
    assert template["annotations"] == {"example.com/owner": "flyte-user"}
    assert template["metadata"]["retries"] == 1
    spec = template["podSpec"]
    assert spec["volumes"] == [{"name": "shared-data", "emptyDir": {"medium": "Memory"}}]
    primary, sidecar = spec["containers"]
    assert primary["resources"] == {"requests": {"cpu": "100m", "memory": "64Mi"}}
    assert primary["env"] == [{"name": "GREETING", "value": "hello"}]
    assert sidecar["name"] == "secondary" and sidecar["image"] == "alpine"


@pytest.mark.parametrize(
    "task,expected",
    [
        (
            "named_template",
            "named_template.pod_template_name: pod_template_name 'cluster-template'",
        ),
        ("needs_secret", "needs_secret.secret_requests"),
        ("wf", "is a flytekit @workflow, not a task"),
    ],
)
def test_refused_with_the_field_named_and_nothing_started(task: str, expected: str) -> None:
    proc = podtask("run", str(TASKS), task)
    assert proc.returncode == 2
    assert expected in proc.stderr
    assert "run " not in proc.stderr  # no run was started
    runs = podtask("runs", "--json")
    assert runs.returncode == 0 and task not in runs.stdout
