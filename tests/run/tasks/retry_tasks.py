"""Tasks for the retry-policy tests: which failures are retried, and on which budget."""

import time

import podtask

SHARED = {"name": "shared", "emptyDir": {}}


@podtask.task(retries=1)
def always_fails() -> None:
    raise RuntimeError("this task never works")


@podtask.task(
    pod=podtask.Pod(
        spec={
            "containers": [{"name": "primary"}],
            "volumes": [SHARED],
            "terminationGracePeriodSeconds": 1,
        }
    ),
    retries=0,
)
def sleeps(seconds: float = 0.0) -> str:
    time.sleep(seconds)
    return "slept"


@podtask.task(
    pod=podtask.Pod(
        spec={
            "containers": [
                {"name": "primary", "volumeMounts": [{"name": "cfg", "mountPath": "/c"}]}
            ],
            "volumes": [{"name": "cfg", "configMap": {"name": "no-such-config"}}],
        }
    ),
    retries=2,
)
def bad_config() -> None:
    pass
