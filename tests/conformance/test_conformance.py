"""One suite, every engine: the same task gives the same phase, exit codes, outputs and
container outcomes on the local engine, on podman and (later) on Kubernetes.

Each test runs the real CLI (``podtask run --json --engine E``) and asserts only what
all engines must agree on; engine-specific behaviour lives in tests/<engine>/.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conformance.conftest import (
    engine_args,
    engine_params,
    podman_image_has_k8s_proto,
    podman_leftovers,
)
from tests.conftest import EXAMPLES

TASKS = Path(__file__).parent / "tasks" / "conformance_tasks.py"

pytestmark = pytest.mark.parametrize("engine", engine_params())


def run(engine: str, task: str, *args: str, file: Path = TASKS) -> tuple[int, dict[str, Any], str]:
    import subprocess

    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "podtask",
            "run",
            str(file),
            task,
            "--json",
            *engine_args(engine),
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=os.environ.copy(),
    )
    try:
        doc = json.loads(r.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"no JSON on stdout (rc={r.returncode}): {r.stdout!r}\nstderr: {r.stderr}")
    if engine == "podman":
        assert podman_leftovers(f"podtask.io/run-id={doc['run_id']}") == ""
    return r.returncode, doc, r.stderr


def container(doc: dict[str, Any], name: str) -> dict[str, Any]:
    rows = [c for c in doc["containers"] if c["name"] == name]
    assert rows, f"no container {name} in {doc['containers']}"
    return rows[-1]


def resolution(engine: str) -> float:
    """Kubernetes reports container times in whole seconds; the other engines to the µs."""
    return 1.0 if engine.startswith("kubernetes-") else 0.0


def podtask_stopped(engine: str, c: dict[str, Any]) -> bool:
    """Whether podtask itself sent this container its stop signal (and knows when).

    On Kubernetes the kubelet (native sidecars) or the primary (managed mode)
    stops sidecars, so that the pod finishes even with no client watching.
    """
    return c["stop_signal_at"] is not None and not engine.startswith("kubernetes-")


def describe(run_id: str) -> str:
    import subprocess

    return subprocess.run(
        [sys.executable, "-m", "podtask", "describe", run_id],
        capture_output=True,
        text=True,
        check=False,
    ).stdout


def test_seed_example(engine: str) -> None:
    if engine == "podman" and not podman_image_has_k8s_proto():
        pytest.skip(
            "localhost/podtask-python lacks k8s-proto, which the seed example imports:"
            " .ci/setup-podman.sh must install podtask[k8s-proto] into the image"
        )
    rc, doc, err = run(engine, "my_sidecar_task", file=EXAMPLES / "seed_working_example.py")
    assert rc == 0, err
    assert doc["phase"] == "SUCCEEDED"
    assert container(doc, "primary")["exit_code"] == 0
    assert container(doc, "secondary")["exit_code"] == 0
    assert not Path("/data").exists()


def test_typed_example(engine: str) -> None:
    rc, doc, err = run(engine, "greet", "--in1", "world", file=EXAMPLES / "typed_example.py")
    assert rc == 0, err
    assert doc["outputs"] == {"out1": "Hello, world: hi sidecar world"}


def test_typed_outputs(engine: str) -> None:
    rc, doc, err = run(engine, "typed_outputs", "--a", "22", "--label", "ab")
    assert rc == 0, err
    assert (doc["phase"], doc["reason"]) == ("SUCCEEDED", "Completed")
    assert doc["outputs"] == {"total": 42, "tag": "abab"}
    assert container(doc, "writer")["exit_code"] == 0


def test_primary_failure(engine: str) -> None:
    rc, doc, _ = run(engine, "primary_fails", "--x", "7")
    assert rc == 1
    assert (doc["phase"], doc["reason"]) == ("FAILED", "Error")
    assert container(doc, "primary")["exit_code"] == 1
    assert doc["error"]["message"] == "bad value 7"
    assert "ValueError" in doc["error"]["type"]
    sidecar = container(doc, "forever")
    assert sidecar["state"] == "terminated"
    assert podtask_stopped(engine, sidecar) or sidecar["exit_code"] in (0, 143)


def test_sidecar_that_never_exits_is_stopped(engine: str) -> None:
    started = time.monotonic()
    rc, doc, err = run(engine, "sidecar_never_exits")
    assert rc == 0, err
    assert doc["outputs"] == {"o0": "done"} and doc["sidecar_issues"] == []
    assert time.monotonic() - started < 20
    primary, sidecar = container(doc, "primary"), container(doc, "forever")
    res = resolution(engine)
    # Stopped as the primary ended (in managed mode the primary stops it just before).
    assert abs(sidecar["finished_at"] - primary["finished_at"]) < 1.0 + res
    if podtask_stopped(engine, sidecar):
        assert 0 <= sidecar["stop_signal_at"] - primary["finished_at"] < 1.0
        assert sidecar["finished_at"] - sidecar["stop_signal_at"] < 0.9  # it obeyed SIGTERM
    assert sidecar["exit_code"] in (0, 143)


def test_sidecar_ignoring_sigterm_is_killed_after_the_grace(engine: str) -> None:
    rc, doc, err = run(engine, "sidecar_ignores_sigterm")
    assert rc == 0, err
    assert doc["phase"] == "SUCCEEDED" and doc["sidecar_issues"] == []
    sidecar, primary = container(doc, "stubborn"), container(doc, "primary")
    assert sidecar["exit_code"] == 137 or sidecar["signal"] == 9
    if podtask_stopped(engine, sidecar):
        waited = sidecar["finished_at"] - sidecar["stop_signal_at"]
        assert 0.9 <= waited < 3.0, waited
        assert "SIGKILL (grace ended)" in describe(doc["run_id"])
    else:
        # The kubelet (native) or the primary (managed) stopped it: still after the
        # 1 s grace, seen through Kubernetes' whole-second timestamps.
        assert sidecar["finished_at"] >= primary["started_at"] + 1.0 - resolution(engine)


def test_native_sidecar_gated_by_startup_probe(engine: str) -> None:
    rc, doc, err = run(engine, "native_sidecar_first")
    assert rc == 0, err
    assert doc["outputs"] == {"o0": True}
    warmup, primary = container(doc, "warmup"), container(doc, "primary")
    assert warmup["kind"] == "native-sidecar"
    if engine.startswith("kubernetes-"):
        # Kubernetes reports no per-container ready time; the primary's output (it saw
        # the file the probe waited for) and the start order show the gate held.
        assert warmup["started_at"] <= primary["started_at"]
    else:
        assert warmup["ready_at"] is not None and warmup["ready_at"] <= primary["started_at"]
    end = warmup["stop_signal_at"] or warmup["finished_at"]
    if engine == "kubernetes-managed":
        assert warmup["finished_at"] <= primary["finished_at"]  # the primary stopped it
    else:
        assert end >= primary["finished_at"]


def test_init_containers_run_first_in_order(engine: str) -> None:
    rc, doc, err = run(engine, "init_containers_in_order")
    assert rc == 0, err
    assert doc["outputs"] == {"o0": "one two"}
    assert [container(doc, n)["exit_code"] for n in ("first", "second")] == [0, 0]
    assert container(doc, "second")["finished_at"] <= container(doc, "primary")["started_at"]


def test_timeout(engine: str) -> None:
    started = time.monotonic()
    rc, doc, _ = run(engine, "times_out")
    assert rc == 1
    assert (doc["phase"], doc["reason"]) == ("FAILED", "Timeout")
    assert time.monotonic() - started < 20
    primary = container(doc, "primary")
    assert primary["stop_signal_at"] is not None and primary["state"] == "terminated"
    assert container(doc, "forever")["stop_signal_at"] is not None


def test_two_sidecars_talk_to_the_primary_over_localhost(engine: str) -> None:
    rc, doc, err = run(engine, "sidecars_talk_over_localhost")
    assert rc == 0, err
    assert doc["outputs"] == {"o0": "alpha beta"}


def test_env_expansion_field_ref_and_sub_path(engine: str) -> None:
    rc, doc, err = run(engine, "env_and_sub_path")
    assert rc == 0, err
    assert doc["outputs"] == {"o0": f"greeting=hello pod={doc['run_id']}"}


def test_readiness_probe_gates_ready_and_never_kills(engine: str) -> None:
    rc, doc, err = run(engine, "readiness_probe_never_kills")
    assert rc == 0, err
    sidecar = container(doc, "slowready")
    assert sidecar["restart_count"] == 0  # a failing readiness probe does not restart
    if not engine.startswith("kubernetes-"):
        # Not ready until the probe passed (the file appears 1.2 s after the start).
        assert sidecar["ready_at"] is not None
        assert sidecar["ready_at"] - sidecar["started_at"] >= 1.0


def test_liveness_probe_restarts_a_native_sidecar(engine: str) -> None:
    rc, doc, err = run(engine, "liveness_restarts_native_sidecar")
    assert rc == 0, err
    assert doc["outputs"] == {"o0": True}
    assert container(doc, "flaky")["restart_count"] >= 1


def test_liveness_probe_failing_on_the_primary_fails_the_task(engine: str) -> None:
    started = time.monotonic()
    rc, doc, _ = run(engine, "primary_fails_liveness")
    assert rc == 1
    assert time.monotonic() - started < 30  # not the 60 s the primary would sleep
    primary = container(doc, "primary")
    assert primary["exit_code"] in (137, 143)  # SIGTERM, then SIGKILL after the grace
    assert primary["message"] is None  # as on a cluster: the status never says why
    # On kubernetes the status shows only exit 143/137 "Error"; the engine takes the
    # kubelet's words (Unhealthy "Liveness probe failed: ...") from the pod's Events.
    assert (doc["phase"], doc["reason"]) == ("FAILED", "Unhealthy")
    assert doc["message"].startswith("Liveness probe failed: ")


def test_native_sidecar_that_exits_is_restarted(engine: str) -> None:
    rc, doc, err = run(engine, "native_sidecar_restarts")
    assert rc == 0, err
    assert doc["outputs"] == {"o0": True}
    assert container(doc, "crashy")["restart_count"] >= 1


def test_the_recorded_pod_is_the_pod_that_ran(engine: str) -> None:
    """``describe``'s pod (``pod.yaml``) is what the engine created: shaped once, by
    ``attempt_manifest``, and never reshaped by an engine after it was recorded."""
    import yaml

    rc, doc, err = run(engine, "reports_how_it_was_started")
    assert rc == 0, err
    seen = json.loads(doc["outputs"]["o0"])
    recorded = yaml.safe_load((Path(doc["run_dir"]) / "pod.yaml").read_text())
    assert recorded["spec"]["restartPolicy"] == "Never"
    primary = next(c for c in recorded["spec"]["containers"] if c["name"] == "primary")
    assert seen["args"] == primary["args"]
    env = {e["name"]: e.get("value") for e in primary.get("env", [])}
    assert seen["sidecar_mode"] == env.get("PODTASK_SIDECAR_MODE")
    init = {c["name"]: c for c in recorded["spec"].get("initContainers", [])}
    regular = {c["name"] for c in recorded["spec"]["containers"]}
    if engine == "kubernetes-native":
        assert init["forever"]["restartPolicy"] == "Always" and regular == {"primary"}
    else:
        assert "forever" in regular and "forever" not in init
    if engine == "kubernetes-managed":
        assert (
            recorded["spec"]["shareProcessNamespace"] is True and seen["sidecar_mode"] == "managed"
        )
    if engine == "local":
        assert primary["command"] == [sys.executable, "-m", "podtask.entrypoint"]
