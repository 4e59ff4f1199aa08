"""A task the API server's pods run as their podtask primary."""

import os

import podtask


@podtask.task(pod=podtask.Pod(spec={"containers": [{"name": "primary"}]}))
def hello() -> str:
    with open("/shared/note.txt") as fh:
        note = fh.read().strip()
    return f"{note} / HOSTNAME={os.environ.get('HOSTNAME')}"
