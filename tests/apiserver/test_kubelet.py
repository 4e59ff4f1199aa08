"""Pods really run: statuses as a kubelet reports them, deletion, eviction, faults."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from kubernetes import watch
from kubernetes.client.rest import ApiException

from podtask.testing.apiserver import ApiServer

from .conftest import cstatus, needs_namespaces, phase, pod, sh, wait

pytestmark = needs_namespaces

SHARED = {"name": "shared", "emptyDir": {}}
MOUNT = [{"name": "shared", "mountPath": "/shared"}]


def test_two_containers_run_to_succeeded(srv: ApiServer, core: Any, name: str) -> None:
    manifest = pod(
        name,
        sh("writer", "echo from-writer > /shared/f; echo written", volumeMounts=MOUNT),
        sh(
            "reader",
            "while [ ! -f /shared/f ]; do sleep 0.05; done; cat /shared/f; exit 3",
            volumeMounts=MOUNT,
        ),
        volumes=[SHARED],
    )
    core.create_namespaced_pod("default", manifest)
    done = wait(srv, name, lambda p: phase(p) in ("Succeeded", "Failed"))
    assert phase(done) == "Failed"  # one container exited 3
    w = cstatus(done, "writer")["state"]["terminated"]
    r = cstatus(done, "reader")["state"]["terminated"]
    assert (w["exitCode"], w["reason"]) == (0, "Completed")
    assert (r["exitCode"], r["reason"]) == (3, "Error")
    assert r["startedAt"] <= r["finishedAt"]
    assert done["spec"]["nodeName"] and done["status"]["podIP"] == "127.0.0.1"
    conds = {c["type"]: (c["status"], c.get("reason")) for c in done["status"]["conditions"]}
    assert conds["PodScheduled"] == ("True", None)
    assert conds["Ready"] == ("False", "PodFailed")  # as a real kubelet reports it
    assert core.read_namespaced_pod_log(name, "default", container="reader") == "from-writer\n"
    with pytest.raises(ApiException) as err:
        core.read_namespaced_pod_log(name, "default")
    assert "a container name must be specified" in json.loads(err.value.body)["message"]
    core.delete_namespaced_pod(name, "default")  # terminal: gone at once
    assert srv.get_pod("default", name) is None


def test_native_sidecar_pod_completes_by_itself(srv: ApiServer, core: Any, name: str) -> None:
    manifest = pod(
        name,
        sh("main", "cat /shared/ready; echo main-done", volumeMounts=MOUNT),
        initContainers=[
            sh(
                "side",
                "echo up > /shared/ready; exec sleep 1000",
                restartPolicy="Always",
                volumeMounts=MOUNT,
                startupProbe={
                    "exec": {"command": ["test", "-f", "/shared/ready"]},
                    "periodSeconds": 1,
                },
            )
        ],
        volumes=[SHARED],
        terminationGracePeriodSeconds=5,
    )
    seen: list[str] = []
    rv = core.list_namespaced_pod("default").metadata.resource_version
    core.create_namespaced_pod("default", manifest)
    for ev in watch.Watch().stream(
        core.list_namespaced_pod,
        "default",
        resource_version=rv,
        field_selector=f"metadata.name={name}",
        timeout_seconds=20,
    ):
        seen.append(ev["object"].status.phase)
        if ev["object"].status.phase in ("Succeeded", "Failed"):
            break
    assert seen[0] == "Pending" and "Running" in seen and seen[-1] == "Succeeded"
    done = srv.get_pod("default", name)
    assert done is not None
    side = cstatus(done, "side")
    # `exec sleep` is PID 1 of its container and has no SIGTERM handler: as with a real
    # kubelet, the SIGTERM is ignored and the sidecar is killed when the 5 s grace ends.
    assert side["state"]["terminated"]["exitCode"] == 137
    assert cstatus(done, "main")["state"]["terminated"]["reason"] == "Completed"
    assert core.read_namespaced_pod_log(name, "default", container="main") == "up\nmain-done\n"
    core.delete_namespaced_pod(name, "default")


def test_graceful_delete_and_follow_logs(srv: ApiServer, core: Any, name: str) -> None:
    script = 'trap "echo got-term; exit 0" TERM; echo started; while true; do sleep 0.05; done'
    core.create_namespaced_pod("default", pod(name, sh("main", script)))
    wait(srv, name, lambda p: phase(p) == "Running")
    time.sleep(0.2)
    assert core.read_namespaced_pod_log(name, "default", tail_lines=1) == "started\n"
    stream = core.read_namespaced_pod_log(name, "default", follow=True, _preload_content=False)
    t0 = time.monotonic()
    deleted = core.delete_namespaced_pod(name, "default", grace_period_seconds=10)
    assert deleted.metadata.deletion_timestamp is not None
    assert deleted.metadata.deletion_grace_period_seconds == 10
    text = stream.read().decode()  # ends when the container stops
    assert text.endswith("got-term\n")
    srv.wait_for_pod("default", name, lambda p: p is None, 10)
    assert time.monotonic() - t0 < 5  # it exited on SIGTERM, well within the grace


def test_grace_runs_out_then_sigkill(srv: ApiServer, core: Any, name: str) -> None:
    core.create_namespaced_pod(
        "default", pod(name, sh("main", 'trap "" TERM; while true; do sleep 0.05; done'))
    )
    wait(srv, name, lambda p: phase(p) == "Running")
    t0 = time.monotonic()
    core.delete_namespaced_pod(name, "default", grace_period_seconds=1)
    srv.wait_for_pod("default", name, lambda p: p is None, 10)
    assert 0.9 < time.monotonic() - t0 < 5


def test_eviction(srv: ApiServer, core: Any, name: str) -> None:
    core.create_namespaced_pod("default", pod(name, sh("main", "sleep 100")))
    wait(srv, name, lambda p: phase(p) == "Running")
    srv.faults.evict("default", name)
    done = wait(srv, name, lambda p: phase(p) == "Failed")
    assert done["status"]["reason"] == "Evicted"
    conds = {c["type"]: c for c in done["status"]["conditions"]}
    assert conds["DisruptionTarget"]["status"] == "True"
    # Killed at once: SIGTERM, then SIGKILL with no grace (sleep dies of the SIGTERM).
    assert cstatus(done, "main")["state"]["terminated"]["exitCode"] in (137, 143)
    core.delete_namespaced_pod(name, "default")


def test_sidecar_image_pull_failure_keeps_pod_pending(srv: ApiServer, core: Any, name: str) -> None:
    srv.faults.fail_image_pull("registry.example/missing:1")
    manifest = pod(
        name,
        sh("main", "echo main; exit 0"),
        {**sh("side", "sleep 100"), "image": "registry.example/missing:1"},
    )
    core.create_namespaced_pod("default", manifest)
    p = wait(srv, name, lambda p: "terminated" in cstatus(p, "main")["state"])
    assert cstatus(p, "side")["state"]["waiting"]["reason"] in ("ErrImagePull", "ImagePullBackOff")
    p = wait(
        srv,
        name,
        lambda p: cstatus(p, "side")["state"]["waiting"]["reason"] == "ImagePullBackOff",
    )
    assert phase(p) == "Pending"  # a container still waiting keeps the pod Pending
    core.delete_namespaced_pod(name, "default", grace_period_seconds=0)


def test_active_deadline_and_restart_on_failure(srv: ApiServer, core: Any, name: str) -> None:
    core.create_namespaced_pod(
        "default",
        pod(
            name, sh("main", "sleep 100"), activeDeadlineSeconds=1, terminationGracePeriodSeconds=1
        ),
    )
    done = wait(srv, name, lambda p: phase(p) == "Failed")
    assert done["status"]["reason"] == "DeadlineExceeded"
    core.delete_namespaced_pod(name, "default")
    again = name + "-r"
    core.create_namespaced_pod(
        "default",
        pod(
            again,
            sh(
                "main",
                "[ -f /shared/once ] && exit 0; touch /shared/once; exit 4",
                volumeMounts=MOUNT,
            ),
            restartPolicy="OnFailure",
            volumes=[SHARED],
        ),
    )
    done = wait(srv, again, lambda p: phase(p) == "Succeeded")
    main = cstatus(done, "main")
    assert main["restartCount"] == 1
    assert main["lastState"]["terminated"]["exitCode"] == 4
    core.delete_namespaced_pod(again, "default")


def test_podtask_primary_runs_the_entrypoint(
    srv: ApiServer, core: Any, name: str, tmp_path: Path
) -> None:
    out = tmp_path / "outputs"
    manifest = pod(
        name,
        {
            "name": "primary",
            "image": "python:3.11",
            "command": ["python3", "-m", "podtask.entrypoint"],
            "args": [
                "--task",
                "apitasks:hello",
                "--inputs",
                "-",
                "--output-prefix",
                str(out),
                "--source-root",
                str(Path(__file__).parent),
            ],
            "volumeMounts": MOUNT,
        },
        volumes=[SHARED],
        initContainers=[sh("note", "echo from-init > /shared/note.txt", volumeMounts=MOUNT)],
    )
    manifest["metadata"]["annotations"] = {"podtask.io/primary-container": "primary"}
    core.create_namespaced_pod("default", manifest)
    done = wait(srv, name, lambda p: phase(p) in ("Succeeded", "Failed"), 30)
    log = core.read_namespaced_pod_log(name, "default", container="primary")
    assert phase(done) == "Succeeded", log
    outputs = json.loads((out / "outputs.json").read_text())
    assert "from-init / HOSTNAME=" + name in json.dumps(outputs)
    assert sys.executable  # the primary ran this interpreter, not the image's python3
    core.delete_namespaced_pod(name, "default")


def test_crash_back_off_as_the_kubelet(name: str) -> None:
    """Restart at once, then first, 2*first, ... (10 s doubling by default, as a kubelet)."""
    from podtask.testing.apiserver.kubelet import CRASH_BACKOFF

    assert CRASH_BACKOFF == (10.0, 300.0)
    with ApiServer.start(crash_backoff=(1.0, 300.0)) as fast:
        from kubernetes import client, config

        core = client.CoreV1Api(config.new_client_from_config(str(fast.kubeconfig_path)))
        manifest = pod(name, sh("main", "exit 1"))
        manifest["spec"]["restartPolicy"] = "OnFailure"
        core.create_namespaced_pod("default", manifest)
        seen: dict[int, float] = {}
        deadline = time.monotonic() + 20
        while len(seen) < 4 and time.monotonic() < deadline:
            p = fast.get_pod("default", name)
            count = (
                cstatus(p, "main")["restartCount"]
                if p and p["status"].get("containerStatuses")
                else 0
            )
            seen.setdefault(count, time.monotonic())
            time.sleep(0.02)
        assert sorted(seen)[:4] == [0, 1, 2, 3], seen
        gaps = [seen[i + 1] - seen[i] for i in range(3)]
        assert gaps[0] < 0.9  # the first restart comes at once
        assert 0.9 < gaps[1] < 1.9 and 1.9 < gaps[2] < 3.0  # then 1 s, 2 s


def test_a_missing_command_is_tried_then_fails_as_on_a_cluster(
    srv: ApiServer, core: Any, name: str
) -> None:
    """A real runtime tries ~2 s (ContainerCreating), then StartError/128 while the pod is
    still Pending ~1 s, then Failed (the differential record of a v1.36 cluster)."""
    core.create_namespaced_pod(
        "default",
        pod(name, {"name": "main", "image": "busybox:1.36", "command": ["/nonexistent-cmd"]}),
    )
    created = time.monotonic()
    seen: list[tuple[float, str, str]] = []
    while True:
        p = srv.get_pod("default", name)
        assert p is not None
        state = (
            cstatus(p, "main").get("state") or {} if p["status"].get("containerStatuses") else {}
        )
        what = next(iter(state), "")
        detail = str((state.get(what) or {}).get("reason", ""))
        seen.append((time.monotonic() - created, phase(p) or "", detail))
        if phase(p) == "Failed":
            break
        assert time.monotonic() - created < 20, seen
        time.sleep(0.05)
    first_error = next(t for t, _ph, d in seen if d == "StartError")
    assert first_error >= 1.5, seen  # ContainerCreating while the runtime "tries"
    assert all(d in ("", "ContainerCreating") for t, _ph, d in seen if t < first_error)
    assert any(ph == "Pending" and d == "StartError" for _t, ph, d in seen), seen
    term = cstatus(srv.get_pod("default", name), "main")["state"]["terminated"]
    assert (term["reason"], term["exitCode"]) == ("StartError", 128)
    core.delete_namespaced_pod(name, "default")
