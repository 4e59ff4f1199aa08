"""A sidecar whose port no API server accepts: the 422 must name the user's own field."""

import podtask


@podtask.task(
    pod=podtask.Pod(
        spec={
            "containers": [
                {"name": "primary"},
                {
                    "name": "proxy",
                    "image": "busybox",
                    "command": ["sh", "-c", "exec sleep 30"],
                    "imagePullPolicy": "Sometimes",
                },
            ]
        },
        primary_container="primary",
    )
)
def bad_port() -> str:
    return "never"
