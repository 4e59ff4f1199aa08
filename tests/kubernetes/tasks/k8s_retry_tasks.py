"""A task with a retry, for the pod-deleted-externally test."""

import time

from k8s_tasks import POD

import podtask


@podtask.task(pod=POD, retries=1)
def greet_retry(seconds: float = 0.0) -> str:
    time.sleep(seconds)
    return "retried"
