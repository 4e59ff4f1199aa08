"""A sidecar runs as many times on Kubernetes as on the other engines (issue 10, item 8).

In native mode the kubelet starts a sidecar that exits again (restartable init
containers), so a one-shot sidecar such as the seed's ``secondary`` ran twice.
The automatic mode picks managed mode for a pod whose sidecars may finish on
their own (no port, no probe), where every container runs once.
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest

from tests.kubernetes.conftest import SEED, needs_server, pods, run

pytestmark = [needs_server, pytest.mark.slow]
NATIVE = ("--engine", "kubernetes", "--sidecar-mode", "native")


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # k8s-proto's generated code
def test_one_shot_sidecar_runs_once_by_default(srv: Any, strict_schema: Any) -> None:
    result = run(SEED, "my_sidecar_task")
    assert result.phase == "SUCCEEDED", result.message
    restarts = {c.name: c.restart_count for c in result.containers}
    assert restarts["secondary"] == 0
    assert strict_schema[-1]["spec"].get("shareProcessNamespace") is True  # managed
    assert pods(srv) == []


def test_native_mode_says_a_one_shot_sidecar_may_run_again(srv: Any) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "podtask", "run", str(SEED), "my_sidecar_task", *NATIVE],
        env={**os.environ, "KUBECONFIG": str(srv.kubeconfig_path)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "sidecar 'secondary' declares no port or probe" in proc.stderr
    assert pods(srv) == []
