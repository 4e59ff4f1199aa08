"""Tasks for the run tests: each pod shows one behaviour of the lifecycle."""

import os
import socket
import time
from pathlib import Path

import podtask

SHARED = {"name": "shared", "emptyDir": {}}
MOUNT = {"name": "shared", "mountPath": "/shared"}
MARK = os.environ.get("PODTASK_TEST_MARK", "podtask-test")
# A sidecar that runs until stopped. Its shell is PID 1 of the container, which
# ignores SIGTERM unless it traps it (as on a cluster): the trap exits as SIGTERM would.
FOREVER = "trap 'exit 143' TERM; sleep 1000 & wait"


def pod(*sidecars, init=(), grace=None, **kw):
    spec = {
        "containers": [{"name": "primary", "volumeMounts": [MOUNT]}, *sidecars],
        "volumes": [SHARED],
    }
    if init:
        spec["initContainers"] = list(init)
    if grace is not None:
        spec["terminationGracePeriodSeconds"] = grace
    return podtask.Pod(spec=spec, **kw)


def sh(name, script, **extra):
    return {"name": name, "command": ["/bin/sh", "-c", script], "volumeMounts": [MOUNT], **extra}


@podtask.task(pod=pod(sh("forever", f"{FOREVER}; echo {MARK}")))
def sidecar_never_exits() -> str:
    time.sleep(0.2)
    return "done"


@podtask.task(
    pod=pod(sh("stubborn", f"trap '' TERM; while true; do sleep 0.1; done; echo {MARK}"), grace=1)
)
def sidecar_ignores_sigterm() -> None:
    time.sleep(0.3)


@podtask.task(pod=pod(sh("forever", f"{FOREVER}; echo {MARK}")))
def primary_raises(x: int = 1) -> int:
    raise ValueError(f"bad value {x}")


@podtask.task(pod=pod(sh("forever", f"{FOREVER}; echo {MARK}")))
def primary_sleeps(seconds: float = 60.0) -> None:
    print("primary sleeping", flush=True)
    time.sleep(seconds)


@podtask.task(
    pod=pod(
        init=[
            {
                **sh("warmup", f"sleep 0.4; touch /shared/ready; {FOREVER}"),
                "restartPolicy": "Always",
                "startupProbe": {
                    "exec": {"command": ["test", "-f", "/shared/ready"]},
                    "periodSeconds": 1,
                    "failureThreshold": 10,
                },
            }
        ]
    )
)
def native_sidecar_first() -> bool:
    return Path("/shared/ready").exists()


@podtask.task(
    pod=pod(
        init=[sh("first", "echo one >> /shared/order"), sh("second", "echo two >> /shared/order")],
    )
)
def init_containers_in_order() -> str:
    return Path("/shared/order").read_text().replace("\n", " ").strip()


@podtask.task(pod=pod(init=[sh("broken", "echo cannot; exit 3")]))
def init_container_fails() -> None:
    raise AssertionError("the primary must not start")


PORT_SERVER = (
    "import socket\n"
    "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
    "s.bind(('127.0.0.1', 6399)); s.listen()\n"
    "open('/shared/listening', 'w').close()\n"
    "while True:\n"
    "    c, _ = s.accept(); c.sendall(open('/proc/self/cmdline','rb').read()[:0] + b'pong'); c.close()\n"
)


@podtask.task(
    pod=pod({"name": "server", "command": ["python3", "-c", PORT_SERVER], "volumeMounts": [MOUNT]})
)
def same_port(tag: str) -> str:
    while not Path("/shared/listening").exists():
        time.sleep(0.02)
    with socket.create_connection(("127.0.0.1", 6399), timeout=5) as c:
        reply = c.recv(16).decode()
    time.sleep(0.5)  # keep both pods up at the same time
    return f"{tag}:{reply}"


@podtask.task(timeout=1, pod=pod(sh("forever", f"{FOREVER}; echo {MARK}")))
def times_out() -> None:
    time.sleep(30)


@podtask.task(retries=2)
def flaky() -> int:
    attempt = int(os.environ["PODTASK_ATTEMPT"])
    if attempt < 2:
        raise RuntimeError(f"attempt {attempt} fails")
    return attempt


@podtask.task(pod=pod(sh("crasher", "exit 7"), sidecar_failure="fail"))
def sidecar_fails_task() -> None:
    time.sleep(5)


@podtask.task(pod=pod(sh("crasher", "exit 7")))
def sidecar_crash_ignored() -> str:
    time.sleep(0.5)
    return "fine"


@podtask.task(
    pod=pod(
        sh(
            "envy",
            "echo pod=$POD_NAME ns=$POD_NS greeting=$(GREETING) cwd=$(pwd) > /shared/env;"
            f" {FOREVER}",
            env=[
                {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                {"name": "POD_NS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
                {"name": "GREETING", "value": "hello"},
            ],
            workingDir="/tmp",
        )
    )
)
def env_and_expansion() -> str:
    while not Path("/shared/env").exists():
        time.sleep(0.02)
    time.sleep(0.1)
    return Path("/shared/env").read_text().strip()


@podtask.task(
    pod=pod(),
    resources=podtask.Resources(memory="32Mi", memory_limit="64Mi"),
)
def eats_memory() -> None:
    hog = []
    for _ in range(200):
        hog.append(bytearray(8 * 1024 * 1024))
    print(len(hog))


@podtask.task(pod=pod({"name": "imageonly", "image": "redis:7"}))
def needs_image() -> None:
    pass
