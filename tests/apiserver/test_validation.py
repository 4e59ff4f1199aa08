"""Validation as the emulated version does it (issue 10 item 17): codes, fields, messages."""

from __future__ import annotations

import json
from typing import Any

import pytest

from podtask.testing.apiserver import ApiServer

from .conftest import call, pod, sh

PODS = "/api/v1/namespaces/default/pods?dryRun=All"


def create(srv: ApiServer, manifest: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    headers = {"Content-Type": "application/json", **srv.auth_headers}
    return call(srv, "POST", PODS, json.dumps(manifest).encode(), headers)


def main(**extra: Any) -> dict[str, Any]:
    return sh("main", "true", **extra)


@pytest.mark.parametrize(
    ("manifest", "field", "message"),
    [
        (
            pod("inv-vol", main(volumeMounts=[{"name": "nope", "mountPath": "/x"}])),
            "spec.containers[0].volumeMounts[0].name",
            'Not found: "nope"',
        ),
        (
            pod("inv-port", main(ports=[{"containerPort": 70000}])),
            "spec.containers[0].ports[0].containerPort",
            "Invalid value: 70000: must be between 1 and 65535, inclusive",
        ),
        (
            pod(
                "inv-lr",
                main(resources={"limits": {"memory": "1Mi"}, "requests": {"memory": "2Mi"}}),
            ),
            "spec.containers[0].resources.requests",
            'Invalid value: "2Mi": must be less than or equal to memory limit of 1Mi',
        ),
        (
            pod("inv-dup2", main(), initContainers=[main()]),
            "spec.initContainers[0].name",
            'Duplicate value: "main"',
        ),
        (
            pod("a" * 260, main()),
            "metadata.name",
            f'Invalid value: "{"a" * 260}": must be no more than 253 characters',
        ),
    ],
)
def test_422_as_the_real_server(
    srv: ApiServer, manifest: dict[str, Any], field: str, message: str
) -> None:
    code, body = create(srv, manifest)
    assert (code, body["reason"]) == (422, "Invalid")
    cause = body["details"]["causes"][0]
    assert (cause["field"], cause["message"]) == (field, message)
    assert body["message"] == f'Pod "{manifest["metadata"]["name"]}" is invalid: {field}: {message}'


def test_bad_quantity_is_400(srv: ApiServer) -> None:
    code, body = create(srv, pod("inv-qty", main(resources={"limits": {"cpu": "abc"}})))
    assert (code, body["reason"]) == (400, "BadRequest")
    assert body["message"].startswith(
        'Pod in version "v1" cannot be handled as a Pod: quantities must match the regular'
    )


def test_no_name_has_no_details_name(srv: ApiServer) -> None:
    manifest = pod("x", main())
    del manifest["metadata"]["name"]
    code, body = create(srv, manifest)
    assert code == 422 and "name" not in body["details"]


def test_restart_rules_follow_the_version(srv: ApiServer) -> None:
    """v1.35+ accepts restartPolicy on regular containers and OnFailure on init containers."""
    with_rules = pod(
        "rp",
        main(restartPolicy="Always"),
        initContainers=[sh("i", "true", restartPolicy="OnFailure")],
    )
    with ApiServer.start(version="v1.36.2") as new, ApiServer.start(version="v1.30.0") as old:
        assert create(new, with_rules)[0] == 201
        code, body = create(old, with_rules)
        assert code == 422
        fields = {c["field"] for c in body["details"]["causes"]}
        assert fields == {
            "spec.containers[0].restartPolicy",
            "spec.initContainers[0].restartPolicy",
        }
