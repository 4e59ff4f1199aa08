"""The kubernetes engine against the test API server (real local pods behind it)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from podtask._errors import EngineUnavailable
from podtask._run import Runner, RunOptions
from podtask._storage import RunStore, podtask_home
from podtask.engines.kubernetes.engine import KubernetesEngine, read_state
from tests.kubernetes.conftest import SEED, TASKS, needs_server, pods, run, when_running

pytestmark = [needs_server, pytest.mark.slow]


def _log(result: Any, name: str) -> str:
    return (Path(result.run_dir) / "logs" / f"{name}.log").read_text()


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # k8s-proto's generated code
@pytest.mark.parametrize("mode", ["native", "managed"])
def test_seed_example_succeeds_and_leaves_nothing(srv: Any, mode: str, strict_schema: Any) -> None:
    result = run(SEED, "my_sidecar_task", sidecar_mode=mode)
    assert result.phase == "SUCCEEDED", result.message
    assert pods(srv) == []
    logs = sorted(p.name for p in (Path(result.run_dir) / "logs").glob("*.log"))
    assert logs == ["primary.log", "secondary.log"]
    manifest = strict_schema[-1]
    assert manifest["spec"]["restartPolicy"] == "Never"
    assert manifest["metadata"]["labels"]["podtask.io/run-id"] == result.run_id
    assert manifest["metadata"]["annotations"]["podtask.io/primary-container"] == "primary"
    if mode == "native":
        assert manifest["spec"]["initContainers"][0]["restartPolicy"] == "Always"
    else:
        assert manifest["spec"]["shareProcessNamespace"] is True


def test_mode_from_server_version(srv: Any, old_srv: Any, strict_schema: Any) -> None:
    """1.29+ gets native sidecars (for sidecars that say they serve); older, managed."""
    result = run(TASKS, "greet", inputs={"name": "old"})
    assert list(result.outputs.values()) == ["hello old"]
    assert strict_schema[-1]["spec"].get("shareProcessNamespace") is True
    assert "greeting old" in _log(result, "primary")
    assert "helper up" in _log(result, "helper")
    os.environ["KUBECONFIG"] = str(srv.kubeconfig_path)
    result = run(TASKS, "greet_service", inputs={"name": "new"})
    assert result.phase == "SUCCEEDED"
    assert strict_schema[-1]["spec"]["initContainers"][0]["name"] == "helper"


def test_one_watch_and_few_requests(srv: Any) -> None:
    srv.reset_requests()
    threads = [
        threading.Thread(
            target=lambda i=i: results.append(run(TASKS, "greet", inputs={"name": f"n{i}"}))
        )
        for i in range(4)
    ]
    results: list[Any] = []
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r.phase for r in results] == ["SUCCEEDED"] * 4
    counts = srv.requests
    assert counts["watch"] == 1 and counts["list"] == 1 and counts["create"] == 4
    assert 4 <= counts["delete"] <= 5  # a keep-alive connection reset may cost one retry
    assert counts["log"] >= 8 and counts["get"] == 0


def test_timeout_sets_active_deadline_and_deletes(srv: Any, strict_schema: Any) -> None:
    result = run(TASKS, "too_slow")
    assert result.phase == "FAILED" and result.reason == "Timeout"
    assert 1 <= strict_schema[-1]["spec"]["activeDeadlineSeconds"] <= 3
    assert pods(srv) == []


def test_watch_dropped_mid_run(srv: Any) -> None:
    dropped: list[int] = []
    thread = when_running(srv, lambda _pod: dropped.append(srv.faults.drop_watches()))
    result = run(TASKS, "greet", inputs={"seconds": 2.0})
    thread.join()
    assert dropped and dropped[0] >= 1  # the fault hit the run's watch while the pod ran
    assert result.phase == "SUCCEEDED"
    assert pods(srv) == []


def test_history_compacted_410(srv: Any) -> None:
    def compact(_pod: dict[str, Any]) -> None:
        srv.faults.compact()
        dropped.append(srv.faults.drop_watches())

    dropped: list[int] = []
    thread = when_running(srv, compact)
    result = run(TASKS, "greet", inputs={"seconds": 2.0})
    thread.join()
    assert dropped and dropped[0] >= 1
    assert result.phase == "SUCCEEDED"
    assert pods(srv) == []


def test_a_stale_gone_does_not_strand_the_pod(srv: Any) -> None:
    """A re-LIST that misses a pod (GONE) is confirmed with a GET: a run that wrongly took its
    pod for deleted would leave it behind for the next run to trip over (issue 8, item 11)."""
    from podtask.engines.kubernetes.client import connect
    from podtask.engines.kubernetes.watcher import GONE, PodEvent, watcher_for

    def stale_gone(pod: dict[str, Any]) -> None:
        cluster = connect(None, str(srv.kubeconfig_path))
        watcher = watcher_for(cluster, pod["metadata"]["namespace"])
        watcher._broadcast(PodEvent(GONE, None))
        sent.append(pod["metadata"]["name"])

    sent: list[str] = []
    thread = when_running(srv, stale_gone)
    result = run(TASKS, "greet", inputs={"seconds": 1.0})
    thread.join()
    assert sent == [result.run_id]
    assert result.phase == "SUCCEEDED", result.message
    assert pods(srv) == []


def test_pod_deleted_externally_is_retried(srv: Any) -> None:
    seen: list[str] = []

    def delete(pod: dict[str, Any]) -> None:
        if not seen:
            seen.append(pod["metadata"]["name"])
            srv.faults.delete_pod(pod["metadata"]["namespace"], pod["metadata"]["name"], 0)

    thread = when_running(srv, delete)
    path = TASKS.parent / "k8s_retry_tasks.py"
    result = run(path, "greet_retry", inputs={"seconds": 1.5})
    thread.join()
    assert seen, "the pod was never seen running"
    assert result.attempts == 2 and result.phase == "SUCCEEDED", result.message
    assert pods(srv) == []


def test_evicted_pod_is_a_system_failure(srv: Any) -> None:
    thread = when_running(
        srv, lambda pod: srv.faults.evict(pod["metadata"]["namespace"], pod["metadata"]["name"])
    )
    result = run(TASKS, "greet", inputs={"seconds": 5.0}, system_retries=0)
    thread.join()
    assert result.phase == "FAILED" and result.reason == "Evicted", result.message
    assert pods(srv) == []


def test_500_on_create_is_retried(srv: Any) -> None:
    srv.faults.fail_next("create", 2)
    srv.reset_requests()
    result = run(TASKS, "greet")
    assert result.phase == "SUCCEEDED"
    assert srv.requests["create"] == 3


def test_sidecar_image_pull_failure_is_the_sidecars(srv: Any) -> None:
    srv.faults.fail_image_pull(container="helper")
    result = run(TASKS, "greet", sidecar_mode="native", image_pull_grace=1.0)
    assert result.phase == "FAILED" and result.reason == "SidecarFailed", result.message
    assert (
        "native sidecar 'helper'" in result.message and "ImagePullBackOff" in result.message
    ) or "ErrImagePull" in result.message
    assert pods(srv) == []


def test_403_names_verb_resource_namespace(srv: Any, tmp_path: Path) -> None:
    srv.faults.forbid("create", "pods", "default")
    proc = _cli(
        "run",
        str(TASKS),
        "greet",
        "--engine",
        "kubernetes",
        env={"KUBECONFIG": str(srv.kubeconfig_path)},
    )
    assert proc.returncode == 2, proc.stderr
    assert "forbidden: cannot create pods in namespace 'default'" in proc.stderr
    assert pods(srv) == []


def test_no_kubeconfig_is_engine_unavailable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    engine = KubernetesEngine(kubeconfig=str(tmp_path / "missing"))
    with pytest.raises(EngineUnavailable, match="no Kubernetes configuration"):
        run(TASKS, "greet", engine=engine)


def _cli(
    *args: str, env: dict[str, str], python: bool = False, **kw: Any
) -> subprocess.CompletedProcess[str]:
    prefix = [sys.executable] if python else [sys.executable, "-m", "podtask"]
    return subprocess.run(
        [*prefix, *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=90,
        **kw,
    )


def _attach(run_id: str) -> Any:
    runner = Runner.existing(run_id, RunOptions(engine=KubernetesEngine()))
    return runner.attach()


@pytest.mark.parametrize("mode", ["native", "managed"])
def test_client_killed_then_attach(srv: Any, mode: str) -> None:
    """kill -9 of podtask mid-run: the pod finishes on its own; attach gets the outputs."""
    env = {"KUBECONFIG": str(srv.kubeconfig_path)}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "podtask",
            "run",
            str(TASKS),
            "greet",
            "--engine",
            "kubernetes",
            "--sidecar-mode",
            mode,
            "--seconds",
            "2",
            "--name",
            "killed",
        ],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.time() + 30
    while time.time() < deadline and not any(
        (p.get("status") or {}).get("phase") == "Running" for p in pods(srv)
    ):
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    _out, err = proc.communicate()
    assert pods(srv), err
    # The pod ends by itself: primary done, sidecar stopped by the kubelet / the entrypoint.
    deadline = time.time() + 30
    while time.time() < deadline and not all(
        (p.get("status") or {}).get("phase") in ("Succeeded", "Failed") for p in pods(srv)
    ):
        time.sleep(0.1)
    # Managed: the entrypoint SIGTERMs the sidecar, so Kubernetes calls the pod Failed; the
    # primary's exit 0 still decides the task.
    expected = "Succeeded" if mode == "native" else "Failed"
    assert [(p.get("status") or {}).get("phase") for p in pods(srv)] == [expected]
    with RunStore.in_home(podtask_home()) as store:
        (record,) = store.list(1)
    assert record.phase == "RUNNING"
    result = _attach(record.run_id)
    assert result.phase == "SUCCEEDED"
    assert list(result.outputs.values()) == ["hello killed"]
    assert pods(srv) == []
    assert "greeting killed" in _log(result, "primary")


def test_detach_then_runs_refresh_then_attach(srv: Any) -> None:
    """--detach returns at once; `podtask runs` settles the run from the cluster by label."""
    started = time.monotonic()
    detached = run(TASKS, "greet", inputs={"name": "later", "seconds": 1.0}, detach=True)
    assert time.monotonic() - started < 5
    assert detached.phase == "RUNNING" and detached.reason == "Detached"
    with RunStore.in_home(podtask_home()) as store:
        record = store.get(detached.run_id)
    assert record.owner_pid is None
    assert read_state(Path(record.run_dir))["attempts"]["1"]["pod"] == record.run_id
    from podtask.cli.kube_cmd import refresh_runs

    deadline = time.time() + 30
    phase = ""
    while time.time() < deadline:
        with RunStore.in_home(podtask_home()) as store:
            phase = refresh_runs(store)[record.run_id]
        if phase == "SUCCEEDED":
            break
        time.sleep(0.3)
    assert phase == "SUCCEEDED"
    assert pods(srv) == []
    result = _attach(record.run_id)  # already settled: attach just reports
    assert list((result.outputs or {}).values()) == ["hello later"]
    with RunStore.in_home(podtask_home()) as store:
        assert json.loads(store.get(record.run_id).outputs_json or "{}")
    assert "greeting later" in _log(result, "primary")


def test_attach_cli_follows_a_detached_run(srv: Any) -> None:
    detached = run(TASKS, "greet", inputs={"name": "cli", "seconds": 1.0}, detach=True)
    proc = _cli(
        "-c",
        "import sys; from podtask.cli.kube_cmd import attach_command; attach_command(sys.argv[1:])",
        detached.run_id,
        env={"KUBECONFIG": str(srv.kubeconfig_path)},
        python=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert "hello cli" in proc.stdout and "[primary] greeting cli" in proc.stdout
    assert pods(srv) == []


def test_attach_that_cannot_reach_the_cluster_leaves_the_run_open(srv: Any, tmp_path: Path) -> None:
    """Review s17 #1: attach through a dead API address must not record FAILED; a later
    attach with the right kubeconfig follows the run to its result and deletes the pod."""
    good = {"KUBECONFIG": str(srv.kubeconfig_path)}
    started = _cli("run", str(TASKS), "greet", "--engine", "kubernetes", "--name", "on",
                   "--seconds", "3", "--detach", env=good)  # fmt: skip
    assert started.returncode == 0, started.stderr
    run_id = started.stdout.strip()
    running = threading.Event()
    when_running(srv, lambda _pod: running.set()).join()
    assert running.is_set()
    port = srv.url.rpartition(":")[2]
    bad = tmp_path / "kubeconfig-port-1"
    bad.write_text(srv.kubeconfig_path.read_text().replace(f"127.0.0.1:{port}", "127.0.0.1:1"))
    lost = _cli("attach", run_id, env={"KUBECONFIG": str(bad)})
    assert lost.returncode == 2, lost.stderr
    assert "cannot reach the Kubernetes API server" in lost.stderr
    assert f"podtask attach {run_id}" in lost.stderr
    with RunStore.in_home(podtask_home()) as store:
        assert store.get(run_id).phase == "RUNNING"
    assert [p["metadata"]["name"] for p in pods(srv)] == [run_id]
    again = _cli("attach", run_id, "--json", env=good)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["outputs"] == {"o0": "hello on"}
    assert pods(srv) == []


def test_missing_namespace_exits_2_before_anything_starts(srv: Any) -> None:
    """Review s17 #9: as for an unknown --context, nothing is recorded and no pod made."""
    env = {"KUBECONFIG": str(srv.kubeconfig_path)}
    proc = _cli("run", str(TASKS), "greet", "--engine", "kubernetes", "--namespace", "nope",
                env=env)  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    assert "--namespace: namespace 'nope' does not exist" in proc.stderr
    assert "kubectl create namespace nope" in proc.stderr
    assert not (podtask_home() / "runs").exists() or not any((podtask_home() / "runs").iterdir())
    assert pods(srv) == []


def test_namespace_check_needs_no_more_rbac_than_pods(srv: Any) -> None:
    """podtask's RBAC rules grant pods only: a user who may not read namespaces still runs."""
    srv.faults.forbid("get", "namespaces")
    result = run(TASKS, "greet", inputs={"name": "rbac"})
    assert result.phase == "SUCCEEDED", result.message
    assert pods(srv) == []


def _entrypoint_handles_urls() -> bool:
    import inspect

    import podtask.entrypoint

    return "RemoteIO" in inspect.getsource(podtask.entrypoint)


@pytest.mark.skipif(
    not _entrypoint_handles_urls(),
    reason="the test server's local engine always runs podtask.entrypoint.main, which does not "
    "call entrypoint.remote.RemoteIO yet (see the report); tests/kubernetes/test_remote.py "
    "covers the in-container side directly",
)
def test_remote_storage_ships_code(srv: Any, tmp_path: Path) -> None:
    """file:// storage: inputs, the code bundle, outputs and logs travel through fsspec."""
    (tmp_path / "store").mkdir()  # a missing directory is refused (test below)
    storage = f"file://{tmp_path}/store"
    result = run(TASKS, "greet", inputs={"name": "remote"}, storage=storage, ship_code=True)
    assert result.phase == "SUCCEEDED", result.message
    assert list(result.outputs.values()) == ["hello remote"]
    base = tmp_path / "store" / result.run_id
    assert (base / "code.zip").is_file() and (base / "inputs.json").is_file()
    assert (base / "outputs" / "outputs.json").is_file()
    assert "greeting remote" in (base / "logs" / "primary.log").read_text()


def test_missing_file_storage_directory_exits_2_before_anything_starts(
    srv: Any, tmp_path: Path
) -> None:
    """Review s17 #18: file:///missing/dir was created silently (even under /)."""
    missing = tmp_path / "not-made" / "store"
    proc = _cli("run", str(TASKS), "greet", "--engine", "kubernetes",
                "--storage", f"file://{missing}", env={"KUBECONFIG": str(srv.kubeconfig_path)})  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    assert f"--storage: storage directory {missing} does not exist" in proc.stderr
    assert f"mkdir -p {missing}" in proc.stderr
    assert not (tmp_path / "not-made").exists()
    assert not (podtask_home() / "runs").exists() or not any((podtask_home() / "runs").iterdir())
    assert pods(srv) == []
