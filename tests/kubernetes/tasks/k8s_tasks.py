"""Tasks for the kubernetes engine tests: a primary and a sidecar that never exits on its own."""

import time

import podtask

SHARED = {"name": "shared", "emptyDir": {}}
MOUNT = {"name": "shared", "mountPath": "/shared"}
FOREVER = {
    "name": "helper",
    "image": "busybox",
    "command": ["/bin/sh", "-c", "echo helper up; touch /shared/up; exec sleep 1000"],
    "volumeMounts": [MOUNT],
}


def _pod(sidecar: dict) -> podtask.Pod:
    return podtask.Pod(
        spec={
            "containers": [{"name": "primary", "volumeMounts": [MOUNT]}, sidecar],
            "volumes": [SHARED],
            "terminationGracePeriodSeconds": 2,
        },
        primary_container="primary",
    )


POD = _pod(FOREVER)


@podtask.task(pod=POD)
def greet(name: str = "world", seconds: float = 0.0) -> str:
    """Waits for the sidecar, sleeps, and greets: the output proves the run completed."""
    for _ in range(200):
        try:
            open("/shared/up").close()
            break
        except OSError:
            time.sleep(0.05)
    print(f"greeting {name}", flush=True)
    time.sleep(seconds)
    return f"hello {name}"


@podtask.task(pod=POD, timeout=3)
def too_slow() -> None:
    time.sleep(60)


@podtask.task(pod=POD)
def fails(why: str = "broken") -> str:
    """Raises: the error document must reach the client, whichever way results travel."""
    raise ValueError(f"task failed: {why}")


@podtask.task(pod=POD)
def big(size: int = 10) -> str:
    """Returns ``size`` incompressible characters: past the termination message's 4 KiB."""
    import os

    return os.urandom(size // 2 + 1).hex()[:size]


SERVICE = {**FOREVER, "ports": [{"containerPort": 8080}]}  # a port says: a service, not one-shot
SERVICE_POD = _pod(SERVICE)


@podtask.task(pod=SERVICE_POD)
def greet_service(name: str = "world") -> str:
    """greet with a sidecar that declares a port: the automatic mode may make it native."""
    return greet(name)
