"""Images on a real kubelet (issue 10, items 6-7): the pull policy is podtask's choice, and an
image that does not exist fails at once instead of after minutes of back-off."""

from __future__ import annotations

import time
from typing import Any

import pytest

from podtask._lifecycle import decide
from podtask.engines.kubernetes import adapt
from podtask.engines.kubernetes.engine import DEFAULT_PULL_GRACE
from tests.kubernetes.conftest import TASKS, needs_server, pods, run


def _primary(manifest: dict[str, Any]) -> dict[str, Any]:
    return next(c for c in manifest["spec"]["containers"] if c["name"] == "primary")


@pytest.mark.slow
@needs_server
def test_primary_pull_policy_defaults_to_if_not_present(srv: Any, strict_schema: Any) -> None:
    """`:latest` would default to Always and fail for an image loaded with `kind load`."""
    result = run(TASKS, "greet")
    assert result.phase == "SUCCEEDED", result.message
    assert _primary(strict_schema[-1])["imagePullPolicy"] == "IfNotPresent"


@pytest.mark.slow
@needs_server
@pytest.mark.parametrize(("flag", "policy"), [("always", "Always"), ("never", "Never")])
def test_pull_option_sets_the_primary_policy(
    srv: Any, strict_schema: Any, flag: str, policy: str
) -> None:
    result = run(TASKS, "greet", pull=flag)
    assert result.phase == "SUCCEEDED", result.message
    assert _primary(strict_schema[-1])["imagePullPolicy"] == policy


@pytest.mark.slow
@needs_server
def test_bad_pull_option_is_refused(srv: Any) -> None:
    from podtask._errors import SpecError

    with pytest.raises(SpecError, match="--pull"):
        run(TASKS, "greet", pull="sometimes")


@pytest.mark.slow
@needs_server
def test_image_not_found_fails_at_once(srv: Any) -> None:
    srv.faults.fail_image_pull(container="primary")
    started = time.monotonic()
    result = run(TASKS, "greet")
    took = time.monotonic() - started
    assert result.phase == "FAILED" and "ErrImagePull" in result.message, result.message
    assert "not found" in result.message
    assert took < 20, f"a permanent pull error took {took:.0f}s to fail"
    assert pods(srv) == []


def _waiting(reason: str, message: str) -> dict[str, Any]:
    waiting = {"name": "primary", "state": {"waiting": {"reason": reason, "message": message}}}
    return {
        "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "primary"}]},
        "status": {"phase": "Pending", "containerStatuses": [waiting]},
    }


@pytest.mark.parametrize(
    ("message", "permanent"),
    [
        ('failed to resolve reference "x:1": x:1: not found', True),
        ("manifest unknown: manifest tagged by 1 is not found", True),
        ("pull access denied, repository does not exist or may require authorization", True),
        ("failed to authorize: 401 Unauthorized", True),
        ("dial tcp 10.0.0.1:443: i/o timeout", False),
        ("toomanyrequests: You have reached your pull rate limit", False),
    ],
)
def test_permanent_and_transient_pull_errors(message: str, permanent: bool) -> None:
    doc = _waiting("ErrImagePull", message)
    assert adapt.permanent_pull_error(doc) is permanent
    status = adapt.pod_status(doc, primary="primary", pending_since=0.0, now=5.0)
    grace = 0.0 if permanent else DEFAULT_PULL_GRACE
    assert decide(status, image_pull_grace=grace).terminal is permanent
