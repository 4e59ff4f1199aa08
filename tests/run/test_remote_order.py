"""The entrypoint's one order, seen through storage the pod reaches over the network.

The storage is an FTP server on this machine; the pod reaches it only through
a managed-mode proxy sidecar (argo-workflows#1282: a proxy, a mesh or a
credentials agent the upload needs).  The primary must publish its outputs
before it stops the sidecars: the proxy notes, when it gets SIGTERM, whether
the outputs were already in storage.  With ``file://`` storage the outputs are
written in place and the order could not show.
"""

from __future__ import annotations

import json
import shutil
import socket
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from podtask._run import KubernetesOptions, Runner, RunOptions

with warnings.catch_warnings():
    # pyftpdlib runs on the standard library's asyncore before Python 3.12.
    warnings.simplefilter("ignore", DeprecationWarning)
    pytest.importorskip("pyftpdlib.servers")
TASKS = Path(__file__).parent / "remote" / "remote_tasks.py"

pytestmark = pytest.mark.slow


def _free_ports(n: int) -> list[int]:
    socks = [socket.create_server(("127.0.0.1", 0)) for _ in range(n)]
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


class Storage:
    """An FTP server on 127.0.0.1 (passive ports fixed, so the proxy can carry them)."""

    def __init__(self, root: Path) -> None:
        from pyftpdlib.authorizers import DummyAuthorizer
        from pyftpdlib.handlers import FTPHandler
        from pyftpdlib.servers import ThreadedFTPServer

        self.root = root
        (root / "runs").mkdir(parents=True)
        self.refuse_inputs = False
        auth = DummyAuthorizer()
        auth.add_user("podtask", "secret", str(root), perm="elradfmwMT")
        control, *passive = _free_ports(4)
        storage = self

        class Handler(FTPHandler):  # type: ignore[misc]
            authorizer = auth
            passive_ports = passive
            banner = "podtask test storage"

            def ftp_RETR(self, file: str) -> Any:
                if storage.refuse_inputs and file.endswith("/inputs.json"):
                    return self.respond("550 inputs are refused by this test")
                return super().ftp_RETR(file)

        Handler.log_prefix = "ftp"
        self.server = ThreadedFTPServer(("127.0.0.1", control), Handler)
        self.ports = [control, *passive]
        self.url = f"ftp://podtask:secret@127.0.0.1:{control}/runs"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"handle_exit": False}, daemon=True
        )
        self.thread.start()

    def close(self) -> None:
        self.server.close_all()
        self.thread.join(timeout=10)
        assert not self.thread.is_alive(), "the FTP server's thread outlived it"


@pytest.fixture(scope="module")
def server() -> Iterator[Any]:
    from tests.conformance.conftest import kubernetes_problem

    if kubernetes_problem():
        pytest.skip(str(kubernetes_problem()))
    from podtask.testing.apiserver import ApiServer

    with ApiServer.start(port=0, version="v1.30.0") as srv:
        yield srv


@pytest.fixture(scope="module")
def proxied(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Storage, Path]]:
    """The storage and the relay, for the whole module: the task module is compiled once."""
    from tests.run.remote.relay import UnixToTcpRelay

    base = tmp_path_factory.mktemp("remote")
    store = Storage(base / "ftp-root")
    box = base / "box"  # the proxy's Unix sockets and its record, shared with the pod
    box.mkdir()
    box.chmod(0o777)
    relay = UnixToTcpRelay(str(box), store.ports)
    setup = {"dir": str(box), "record": str(box / "record"), "storage": str(store.root)}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PODTASK_TEST_PROXY", json.dumps({**setup, "ports": store.ports}))
        yield store, box / "record"
    relay.close()
    store.close()


@pytest.fixture
def storage(proxied: tuple[Storage, Path]) -> tuple[Storage, Path]:
    """A clean slate: no record, no run in storage, no refusal."""
    store, record = proxied
    record.unlink(missing_ok=True)
    shutil.rmtree(store.root / "runs")
    (store.root / "runs").mkdir()
    store.refuse_inputs = False
    return store, record


def _run(server: Any, store: Storage, **inputs: Any) -> Any:
    from podtask.engines.kubernetes.engine import KubernetesEngine

    options = RunOptions(
        engine=KubernetesEngine(kubeconfig=str(server.kubeconfig_path)),
        inputs=inputs,
        sidecar_mode="managed",
        engine_options=KubernetesOptions(storage=store.url),
    )
    return Runner(str(TASKS), "through_proxy", options).run()


def test_outputs_are_published_before_managed_sidecars_are_stopped(
    server: Any, storage: tuple[Storage, Path]
) -> None:
    store, record = storage
    result = _run(server, store, n=21)
    assert result.phase == "SUCCEEDED", (result.message, result.error)
    assert result.outputs == {"o0": 42}
    assert record.read_text() == "outputs-present"


def test_a_failed_fetch_still_finishes_the_pod_and_names_the_url(
    server: Any, storage: tuple[Storage, Path]
) -> None:
    store, record = storage
    store.refuse_inputs = True
    result = _run(server, store, n=1)
    assert result.phase == "FAILED"
    log = (Path(result.run_dir) / "logs" / "primary.log").read_text()
    assert result.error is not None, log
    assert (
        "inputs.json" in result.error["message"]
        and store.url.split("@")[1] in (result.error["message"])
    )
    # The pod finished on its own: the primary stopped the proxy; podtask's delete signalled
    # nothing (an entrypoint that skipped the stop leaves the proxy running until the delete).
    assert record.read_text() == "outputs-missing"
    assert [c.name for c in result.containers if c.stop_signal_at is not None] == []
