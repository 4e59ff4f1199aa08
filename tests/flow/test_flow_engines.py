"""The diamond on the other engines: the kubernetes engine (test API server) and podman."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conformance.conftest import PYTHON_IMAGE, podman_problem
from tests.flow.conftest import flow, node
from tests.kubernetes.conftest import needs_server, server_130, srv  # noqa: F401 - fixtures
from tests.run.conftest import needs_namespaces


def _check_diamond(doc: dict[str, Any], engine: str) -> None:
    assert doc["phase"] == "SUCCEEDED", doc
    assert doc["engine"] == engine
    assert doc["outputs"] == {"o0": (5 * 2) + (5 * 3)}
    b, c = node(doc, "b"), node(doc, "c")
    assert b["started_at"] < c["ended_at"] and c["started_at"] < b["ended_at"], (b, c)


@needs_namespaces
@needs_server
@pytest.mark.slow
def test_diamond_on_the_kubernetes_engine(srv: Any, marks: Path) -> None:  # noqa: F811
    rc, doc, err = flow(
        "diamond",
        "--x",
        "4",
        "--engine",
        "kubernetes",
        env={"KUBECONFIG": str(srv.kubeconfig_path)},
    )
    assert rc == 0, err
    _check_diamond(doc, "kubernetes")


@pytest.mark.podman
@pytest.mark.slow
def test_diamond_on_podman(marks: Path) -> None:
    problem = podman_problem()
    if problem:
        pytest.skip(problem)
    rc, doc, err = flow(
        "diamond",
        "--x",
        "4",
        "--engine",
        "podman",
        "--image",
        PYTHON_IMAGE,
        timeout=600,
    )
    assert rc == 0, err
    _check_diamond(doc, "podman")
