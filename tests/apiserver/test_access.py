"""Only the holder of the kubeconfig may use the server: token, media types, Host (issue 8)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from podtask.testing.apiserver import ApiServer

from .conftest import call, pod, sh

PODS = "/api/v1/namespaces/default/pods"


def manifest(name: str) -> bytes:
    return json.dumps(pod(name, sh("main", "sleep 30"))).encode()


def test_kubeconfig_is_private_and_holds_the_token(srv: ApiServer, tmp_path: Path) -> None:
    kc = srv.kubeconfig_path
    assert kc.stat().st_mode & 0o777 == 0o600
    with ApiServer.start(state_dir=tmp_path / "state") as given:
        # where the token also lives (the TLS key, the pods' token volumes): owner only
        for sub in ("tls", "pods"):
            assert (given.state_dir / sub).stat().st_mode & 0o777 == 0o700
        assert given.certificate.key.stat().st_mode & 0o077 == 0
    user = yaml.safe_load(kc.read_text())["users"][0]["user"]
    assert user["token"] == srv.token and len(srv.token) >= 32
    with ApiServer.start() as other:
        assert other.token != srv.token  # random per server


def test_no_token_is_401_and_nothing_starts(srv: ApiServer) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": srv.token}):
        code, body = call(
            srv, "POST", PODS, manifest("no-token"), {"Content-Type": "application/json", **headers}
        )
        assert (code, body["kind"], body["reason"], body["code"]) == (
            401,
            "Status",
            "Unauthorized",
            401,
        )
        assert call(srv, "GET", PODS)[0] == 401
        assert call(srv, "GET", "/podtask-test/requests")[0] == 401
    assert srv.get_pod("default", "no-token") is None
    # What a cluster shows anyone: health and version.
    assert call(srv, "GET", "/version")[0] == 200


def test_text_plain_post_is_415(srv: ApiServer) -> None:
    code, body = call(
        srv,
        "POST",
        PODS,
        manifest("plain-post"),
        {"Content-Type": "text/plain", **srv.auth_headers},
    )
    assert (code, body["reason"]) == (415, "UnsupportedMediaType")
    assert "application/json" in body["message"]
    for form in ("application/x-www-form-urlencoded", "multipart/form-data; boundary=x"):
        headers = {"Content-Type": form, **srv.auth_headers}
        assert call(srv, "POST", PODS, manifest("plain-post"), headers)[0] == 415
    headers = {"Content-Type": "text/plain", **srv.auth_headers}
    assert call(srv, "PATCH", PODS + "/plain-post", b"{}", headers)[0] == 415
    assert srv.get_pod("default", "plain-post") is None


def test_yaml_body_is_accepted(srv: ApiServer) -> None:
    text = yaml.safe_dump(pod("yaml-post", sh("main", "true"))).encode()
    headers = {"Content-Type": "application/yaml", **srv.auth_headers}
    code, body = call(srv, "POST", PODS + "?dryRun=All", text, headers)
    assert code == 201 and body["metadata"]["name"] == "yaml-post"


@pytest.mark.parametrize("host", ["evil.example", "evil.example:80", "10.0.0.1", "127.evil.com"])
def test_foreign_host_is_refused(srv: ApiServer, host: str) -> None:
    headers = {"Host": host, "Content-Type": "application/json", **srv.auth_headers}
    code, body = call(srv, "POST", PODS, manifest("rebound"), headers)
    assert code == 403 and host in body["message"]
    assert srv.get_pod("default", "rebound") is None
    assert call(srv, "GET", "/version", headers={"Host": host})[0] == 403


@pytest.mark.parametrize("host", ["localhost", "[::1]:6443", "127.0.0.1", "127.1.2.3:9"])
def test_loopback_hosts_are_served(srv: ApiServer, host: str) -> None:
    code, body = call(srv, "GET", PODS, headers={"Host": host, **srv.auth_headers})
    assert code == 200 and body["kind"] == "PodList"


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_curl_from_the_issue_is_refused(srv: ApiServer, tmp_path: Path) -> None:
    """The issue's reproduction: curl, text/plain, no token."""
    body = tmp_path / "pod.json"
    body.write_bytes(manifest("curl-pod"))
    done = subprocess.run(
        [
            "curl",
            "-s",
            "--cacert",
            str(srv.certificate.cert),
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "-X",
            "POST",
            "-H",
            "Content-Type: text/plain",
            "--data-binary",
            f"@{body}",
            f"{srv.url}{PODS}",
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.stdout == "401"
    assert srv.get_pod("default", "curl-pod") is None
