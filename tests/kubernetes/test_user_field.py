"""An API server's 422 names the field in the user's spec, not in the reshaped pod (issue 11.6).

Native mode moves sidecars into ``initContainers``, so the server complains about
``spec.initContainers[0]...``; the user wrote ``containers[1]``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from podtask._errors import SpecError
from podtask.engines.kubernetes.errors import user_field
from tests.kubernetes.conftest import needs_server, pods, run

TASKS = Path(__file__).parent / "tasks" / "bad_port_tasks.py"

SENT = {
    "spec": {
        "initContainers": [{"name": "setup"}, {"name": "proxy", "restartPolicy": "Always"}],
        "containers": [{"name": "primary"}],
    }
}
USER = {
    "spec": {
        "initContainers": [{"name": "setup"}],
        "containers": [{"name": "primary"}, {"name": "proxy"}],
    }
}


@pytest.mark.parametrize(
    ("sent", "user"),
    [
        ("spec.initContainers[1].image", "pod_spec.containers[1].image"),
        ("spec.initContainers[0].command", "pod_spec.initContainers[0].command"),
        (
            "spec.containers[0].ports[0].containerPort",
            "pod_spec.containers[0].ports[0].containerPort",
        ),
        ("spec.volumes[2].name", "pod_spec.volumes[2].name"),
        ("metadata.name", "metadata.name"),
    ],
)
def test_paths_are_told_in_the_users_spec(sent: str, user: str) -> None:
    assert user_field(sent, SENT, USER) == user


@pytest.mark.slow
@needs_server
@pytest.mark.parametrize("mode", ["native", "managed"])
def test_a_refused_sidecar_port_names_the_users_container(srv: Any, mode: str) -> None:
    with pytest.raises(SpecError) as info:
        run(TASKS, "bad_port", sidecar_mode=mode)
    assert info.value.field == "pod_spec.containers[1].imagePullPolicy"
    message = str(info.value)
    assert "initContainers" not in message
    assert message.count("Unsupported value") == 1, message
    assert pods(srv) == []
