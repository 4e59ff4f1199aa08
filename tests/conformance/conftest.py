"""The engines the conformance suite runs on, and why one is skipped on this machine.

Adding an engine is one line in ``ENGINES``: its name, a function that says
why it cannot run here (or None), and its pytest marks.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from typing import Any

import pytest

PYTHON_IMAGE = "localhost/podtask-python:latest"
BUSYBOX_IMAGE = "localhost/podtask-busybox:latest"
SETUP = "run `.ci/setup-podman.sh --images`"


@functools.cache
def local_problem() -> str | None:
    from podtask.engines.local.linux import namespaces_available

    problem = namespaces_available()
    if problem:
        return f"local engine: Linux namespaces are not available here ({problem})"
    if shutil.which("busybox") is None:
        return "local engine: the sidecar scripts need `busybox` on this host (apt-get install busybox-static)"
    return None


@functools.cache
def podman_problem() -> str | None:
    podman = shutil.which("podman")
    if podman is None:
        return f"podman engine: podman is not installed; {SETUP}"
    for image in (PYTHON_IMAGE, BUSYBOX_IMAGE):
        if subprocess.run([podman, "image", "exists", image], check=False).returncode != 0:
            return f"podman engine: image {image} is missing; {SETUP}"
    return None


@functools.cache
def podman_image_has_k8s_proto() -> bool:
    r = subprocess.run(
        [
            "podman",
            "run",
            "--rm",
            "--network",
            "none",
            PYTHON_IMAGE,
            "python3",
            "-c",
            "import k8s.io.api.core.v1.generated_pb2",
        ],
        capture_output=True,
        check=False,
    )
    return r.returncode == 0


REAL_CLUSTER = os.environ.get("PODTASK_TEST_KUBECONFIG")


@functools.cache
def kubernetes_problem() -> str | None:
    problem = local_problem()  # the test API server runs its pods on the local engine
    if problem:
        return f"kubernetes engine (test API server): {problem}"
    try:
        import kubernetes  # noqa: F401
    except ImportError:
        return "kubernetes engine: the kubernetes client is missing (pip install 'podtask[kubernetes]')"
    return None


ENGINES: list[tuple[str, Callable[[], str | None], tuple[pytest.MarkDecorator, ...]]] = [
    ("local", local_problem, (pytest.mark.slow,)),
    ("podman", podman_problem, (pytest.mark.podman, pytest.mark.slow)),
    # The Kubernetes engine against podtask's test API server, in both sidecar modes.
    ("kubernetes-native", kubernetes_problem, (pytest.mark.slow,)),
    ("kubernetes-managed", kubernetes_problem, (pytest.mark.slow,)),
]


def engine_args(engine: str) -> list[str]:
    """The CLI options that select ``engine`` (a kubernetes entry also picks a sidecar mode)."""
    if engine.startswith("kubernetes-"):
        storage = os.environ.get("PODTASK_TEST_STORAGE")  # with a real cluster: optional
        extra = ["--storage", storage] if storage and REAL_CLUSTER else []
        return ["--engine", "kubernetes", "--sidecar-mode", engine.split("-", 1)[1], *extra]
    return ["--engine", engine]


@pytest.fixture(scope="module")
def kube_server() -> Iterator[Any]:
    from podtask.testing.apiserver import ApiServer

    with ApiServer.start(port=0, version="v1.30.0") as srv:
        yield srv


@pytest.fixture(autouse=True)
def _engine_environment(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point the CLI at the module's test API server when the engine is kubernetes."""
    engine = (
        request.node.callspec.params.get("engine", "") if hasattr(request.node, "callspec") else ""
    )
    if str(engine).startswith("kubernetes-") and REAL_CLUSTER:
        monkeypatch.setenv("KUBECONFIG", REAL_CLUSTER)  # PODTASK_TEST_KUBECONFIG: a real cluster
    elif str(engine).startswith("kubernetes-") and not kubernetes_problem():
        srv = request.getfixturevalue("kube_server")
        monkeypatch.setenv("KUBECONFIG", str(srv.kubeconfig_path))


def engine_params() -> list[object]:
    return [
        pytest.param(
            name,
            marks=(*marks, pytest.mark.skipif(bool(problem()), reason=str(problem()))),
            id=name,
        )
        for name, problem, marks in ENGINES
    ]


def podman_leftovers(label: str) -> str:
    """What podman still holds of the runs with ``label`` (``key=value``): '' when nothing."""
    out = []
    for args in (
        ["ps", "-a", "--filter", f"label={label}", "--format", "{{.Names}}"],
        ["pod", "ps", "--filter", f"label={label}", "--format", "{{.Name}}"],
    ):
        r = subprocess.run(["podman", *args], capture_output=True, text=True, check=False)
        out.append(r.stdout.strip())
    return " ".join(filter(None, out))
