"""Tasks of the conformance suite: each pod shows one behaviour every engine must keep.

Sidecars run ``/bin/sh -c`` scripts that work both on the host (local engine)
and in the busybox image (podman, kubernetes): sh, sleep, test, touch and
``busybox nc`` only.
"""

import os
import socket
import time
from pathlib import Path
from typing import NamedTuple

import podtask

BUSYBOX = os.environ.get("PODTASK_TEST_SIDECAR_IMAGE", "localhost/podtask-busybox:latest")
SHARED = {"name": "shared", "emptyDir": {}}
MOUNT = {"name": "shared", "mountPath": "/shared"}


def pod(*sidecars, init=(), grace=1, primary=None, **kw):
    spec = {
        "containers": [{"name": "primary", "volumeMounts": [MOUNT], **(primary or {})}, *sidecars],
        "volumes": [SHARED],
        "terminationGracePeriodSeconds": grace,
    }
    if init:
        spec["initContainers"] = list(init)
    return podtask.Pod(spec=spec, **kw)


def sh(name, script, **extra):
    return {
        "name": name,
        "image": BUSYBOX,
        "command": ["/bin/sh", "-c", script],
        "volumeMounts": [MOUNT],
        **extra,
    }


class Pair(NamedTuple):
    total: int
    tag: str


@podtask.task(pod=pod(sh("writer", "echo 20 > /shared/n")))
def typed_outputs(a: int, label: str = "x") -> Pair:
    while not Path("/shared/n").exists():
        time.sleep(0.02)
    time.sleep(0.05)
    return Pair(total=a + int(Path("/shared/n").read_text()), tag=label * 2)


@podtask.task(pod=pod(sh("forever", "trap 'exit 0' TERM; while true; do sleep 0.1; done")))
def primary_fails(x: int = 7) -> int:
    raise ValueError(f"bad value {x}")


@podtask.task(pod=pod(sh("forever", "trap 'exit 0' TERM; while true; do sleep 0.1; done")))
def sidecar_never_exits() -> str:
    time.sleep(0.2)
    return "done"


@podtask.task(pod=pod(sh("stubborn", "trap '' TERM; while true; do sleep 0.1; done")))
def sidecar_ignores_sigterm() -> None:
    time.sleep(0.2)


@podtask.task(
    pod=pod(
        init=[
            sh(
                "warmup",
                "trap 'exit 0' TERM; sleep 0.4; touch /shared/ready;"
                " while true; do sleep 0.1; done",
                restartPolicy="Always",
                startupProbe={
                    "exec": {"command": ["test", "-f", "/shared/ready"]},
                    "periodSeconds": 1,
                    "failureThreshold": 10,
                },
            )
        ]
    )
)
def native_sidecar_first() -> bool:
    return Path("/shared/ready").exists()


@podtask.task(
    pod=pod(
        init=[sh("first", "echo one >> /shared/order"), sh("second", "echo two >> /shared/order")]
    )
)
def init_containers_in_order() -> str:
    return Path("/shared/order").read_text().replace("\n", " ").strip()


@podtask.task(
    timeout=2, pod=pod(sh("forever", "trap 'exit 0' TERM; while true; do sleep 0.1; done"))
)
def times_out() -> None:
    time.sleep(60)


TALKER = "until echo {word} | busybox nc 127.0.0.1 7311; do sleep 0.1; done; trap 'exit 0' TERM; while true; do sleep 0.1; done"


@podtask.task(
    pod=pod(sh("alpha", TALKER.format(word="alpha")), sh("beta", TALKER.format(word="beta")))
)
def sidecars_talk_over_localhost() -> str:
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 7311))
    server.listen()
    server.settimeout(20)
    words = []
    while len(words) < 2:
        conn, _ = server.accept()
        with conn:
            conn.settimeout(5)
            data = b""
            while not data.endswith(b"\n"):
                chunk = conn.recv(64)
                if not chunk:
                    break
                data += chunk
            words.append(data.decode().strip())
    server.close()
    return " ".join(sorted(words))


@podtask.task(pod=pod(sh("forever", "trap 'exit 0' TERM; while true; do sleep 0.1; done")))
def primary_sleeps(seconds: float = 60.0) -> None:
    print("primary sleeping", flush=True)
    time.sleep(seconds)


MARK = os.environ.get("PODTASK_TEST_MARK", "podtask-test")


@podtask.task(
    pod=podtask.Pod(
        spec={
            "containers": [
                {"name": "primary", "volumeMounts": [MOUNT]},
                sh("forever", "trap 'exit 0' TERM; while true; do sleep 0.1; done"),
            ],
            "volumes": [SHARED],
            "terminationGracePeriodSeconds": 1,
        },
        labels={"podtask.io/test-mark": MARK},
    )
)
def marked_sleeper(seconds: float = 60.0) -> None:
    print("primary sleeping", flush=True)
    time.sleep(seconds)


@podtask.task(
    pod=pod(
        sh(
            "envy",
            "echo greeting=$(GREETING) pod=$POD > /sub/env; trap 'exit 0' TERM; while true; do sleep 0.1; done",
            env=[
                {"name": "GREETING", "value": "hello"},
                {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            ],
            volumeMounts=[{"name": "shared", "mountPath": "/sub", "subPath": "deep/er"}],
        )
    )
)
def env_and_sub_path() -> str:
    target = Path("/shared/deep/er/env")
    while not target.exists() or not target.read_text().endswith("\n"):
        time.sleep(0.02)
    return target.read_text().strip()


@podtask.task(pod=pod(sh("ghost", "true", image="example.invalid/podtask-nothere:1.0")))
def missing_image() -> None:
    pass


@podtask.task(
    pod=podtask.Pod(
        spec={
            "containers": [
                {"name": "primary", "volumeMounts": [{"name": "cfg", "mountPath": "/cfg"}]}
            ],
            "volumes": [{"name": "cfg", "configMap": {"name": "settings"}}],
        }
    )
)
def needs_config_map() -> None:
    pass


def _wait_for(path, limit=30.0):
    deadline = time.monotonic() + limit
    while not Path(path).exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path} never appeared")
        time.sleep(0.05)


LOOP = "while true; do sleep 0.1; done"


@podtask.task(
    pod=pod(
        init=[
            sh(
                "slowready",
                f"trap 'exit 0' TERM; sleep 1.2; touch /shared/ok; {LOOP}",
                restartPolicy="Always",
                readinessProbe={
                    "exec": {"command": ["test", "-f", "/shared/ok"]},
                    "periodSeconds": 1,
                    "failureThreshold": 1,
                },
            )
        ]
    )
)
def readiness_probe_never_kills() -> bool:
    _wait_for("/shared/ok")
    time.sleep(1.5)  # long enough for the probe to pass
    return True


@podtask.task(
    pod=pod(
        init=[
            sh(
                "flaky",
                # First run: unhealthy (no /shared/alive). After the kill and restart: healthy.
                "trap 'exit 0' TERM; if [ -f /shared/first ]; then touch /shared/alive;"
                f" else touch /shared/first; fi; {LOOP}",
                restartPolicy="Always",
                livenessProbe={
                    "exec": {"command": ["test", "-f", "/shared/alive"]},
                    "periodSeconds": 1,
                    "failureThreshold": 2,
                },
            )
        ]
    )
)
def liveness_restarts_native_sidecar() -> bool:
    _wait_for("/shared/alive")
    return True


@podtask.task(
    pod=pod(
        sh("forever", f"trap 'exit 0' TERM; {LOOP}"),
        primary={
            "livenessProbe": {
                "exec": {"command": ["test", "-f", "/shared/never"]},
                "periodSeconds": 1,
                "failureThreshold": 2,
            }
        },
    )
)
def primary_fails_liveness() -> None:
    time.sleep(60)


@podtask.task(
    pod=pod(
        init=[
            sh(
                "crashy",
                "trap 'exit 0' TERM; if [ ! -f /shared/crashed ]; then touch /shared/crashed;"
                f" exit 3; fi; touch /shared/back; {LOOP}",
                restartPolicy="Always",
            )
        ]
    )
)
def native_sidecar_restarts() -> bool:
    _wait_for("/shared/back")
    return True


@podtask.task(pod=pod(sh("forever", "trap 'exit 0' TERM; while true; do sleep 0.1; done")))
def reports_how_it_was_started() -> str:
    """The primary's own view of its pod: the entrypoint's arguments and its sidecar mode."""
    import json
    import sys

    mode = os.environ.get("PODTASK_SIDECAR_MODE")
    return json.dumps({"args": sys.argv[1:], "sidecar_mode": mode})
