"""The plain-kubeconfig transport (``direct``) and the official client's, side by side."""

from __future__ import annotations

import base64
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from podtask.engines.kubernetes.client import connect
from podtask.engines.kubernetes.direct import plain_entry
from podtask.engines.kubernetes.engine import KubernetesEngine

from .conftest import TASKS, needs_server, pods, run

CA = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def kubeconfig(tmp_path: Path, cluster: dict[str, Any], user: dict[str, Any]) -> Path:
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": "https://10.0.0.1:6443", **cluster}}],
        "users": [{"name": "u", "user": user}],
        "contexts": [
            {"name": "one", "context": {"cluster": "c", "user": "u", "namespace": "team"}},
            {"name": "two", "context": {"cluster": "c", "user": "u"}},
        ],
        "current-context": "one",
    }
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(doc))
    return path


def test_plain_entry_reads_server_token_ca_and_namespace(tmp_path: Path) -> None:
    ca = base64.b64encode(CA.encode()).decode()
    path = kubeconfig(tmp_path, {"certificate-authority-data": ca}, {"token": "t0k"})
    entry = plain_entry(path, None)
    assert entry is not None
    assert (entry.server, entry.token, entry.ca_pem, entry.namespace) == (
        "https://10.0.0.1:6443",
        "t0k",
        CA,
        "team",
    )
    other = plain_entry(path, "two")
    assert other is not None and other.namespace == "default"
    relative = kubeconfig(tmp_path, {"certificate-authority": "ca.crt"}, {"token": "t"})
    entry = plain_entry(relative, None)
    assert entry is not None and entry.ca_file == str(tmp_path / "ca.crt")


@pytest.mark.parametrize(
    ("cluster", "user"),
    [
        ({}, {"exec": {"command": "aws", "apiVersion": "client.authentication.k8s.io/v1"}}),
        ({}, {"client-certificate-data": "eA==", "client-key-data": "eA=="}),
        ({}, {"auth-provider": {"name": "oidc"}}),
        ({}, {"tokenFile": "/var/run/token"}),
        ({"tls-server-name": "api.internal"}, {"token": "t"}),
        ({"proxy-url": "http://proxy:3128"}, {"token": "t"}),
    ],
)
def test_anything_but_the_plain_form_goes_to_the_official_loader(
    tmp_path: Path, cluster: dict[str, Any], user: dict[str, Any]
) -> None:
    assert plain_entry(kubeconfig(tmp_path, cluster, user), None) is None


def test_unreadable_or_missing_context_goes_to_the_official_loader(tmp_path: Path) -> None:
    path = kubeconfig(tmp_path, {}, {"token": "t"})
    assert plain_entry(path, "nope") is None  # the official loader names the missing context
    path.write_text("clusters: [unclosed")
    assert plain_entry(path, None) is None  # ... and says what is wrong with the file


@needs_server
def test_plain_kubeconfig_never_imports_the_official_client(srv: Any) -> None:
    """What makes a run start fast: ``import kubernetes`` alone costs about 0.25 s."""
    code = (
        "import sys\n"
        "from podtask.engines.kubernetes.client import connect\n"
        f"cluster = connect(None, {str(srv.kubeconfig_path)!r})\n"
        "assert cluster.version() >= (1, 30) and cluster.shares_host_files()\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'kubernetes'))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


@needs_server
def test_a_run_through_the_official_client_still_works(srv: Any, tmp_path: Path) -> None:
    """A kubeconfig the plain transport does not read (here: ``tls-server-name``) is served
    by the official client: the same run, the same result, nothing left behind."""
    doc = yaml.safe_load(srv.kubeconfig_path.read_text())
    doc["clusters"][0]["cluster"]["tls-server-name"] = "localhost"
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(doc))
    assert connect(None, str(path)).api is not None  # the official ApiClient
    result = run(
        TASKS, "greet", inputs={"name": "official"}, engine=KubernetesEngine(kubeconfig=str(path))
    )
    assert result.phase == "SUCCEEDED", result.message
    assert list(result.outputs.values()) == ["hello official"]
    assert (Path(result.run_dir) / "logs" / "primary.log").read_text().strip() != ""
    assert pods(srv) == []


def test_every_call_the_engine_makes_is_a_plain_request() -> None:
    """A CoreV1 method CoreCalls does not define falls back to the generated class and
    costs its 1.1 s import in the middle of a run (the Events read after a failed attempt
    did so when it was added): each one the engine calls must be defined here."""
    import re

    from podtask.engines.kubernetes import client

    package = Path(client.__file__).parent
    called = {
        name
        for source in package.glob("*.py")
        for name in re.findall(r"\bcore\.(\w+)\(", source.read_text())
    }
    assert called, "no CoreV1 call found: the pattern no longer matches the engine's code"
    assert sorted(called - set(vars(client.CoreCalls))) == []
