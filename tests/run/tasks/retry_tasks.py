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
            # A kubelet answers a missing ConfigMap in env with CreateContainerConfigError (one
            # behind a volume only keeps the pod ContainerCreating while it retries the mount).
            "containers": [
                {
                    "name": "primary",
                    "env": [
                        {
                            "name": "SETTING",
                            "valueFrom": {
                                "configMapKeyRef": {"name": "no-such-config", "key": "setting"}
                            },
                        }
                    ],
                }
            ],
        }
    ),
    retries=2,
)
def bad_config() -> None:
    pass
