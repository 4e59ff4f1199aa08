"""The two servers of the differential tier: the test API server, and a real one if given.

``PODTASK_TEST_KUBECONFIG`` (and ``PODTASK_DIFF_IMAGE``, an image with ``sh``,
default ``busybox:1.36``) points the tier at a real cluster: every case is
then sent to both and their answers compared. Without it, the test server's
answers are compared with what a real v1.36.2 cluster answered (the
record's real side, in ``expectations``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

pytest.importorskip("kubernetes")

from podtask.testing.apiserver import ApiServer

from .client import Api

NAMESPACE = "difftest"
REAL_VERSION = "v1.36.2"  # the version of the recorded cluster, emulated by the test server


def ensure_namespace(api: Api) -> None:
    got = api.request("GET", f"/api/v1/namespaces/{NAMESPACE}")
    if got.code == 404:
        made = api.request("POST", "/api/v1/namespaces", body={"metadata": {"name": NAMESPACE}})
        assert made.code in (201, 409), made.body


@pytest.fixture(scope="module")
def test_server() -> Iterator[ApiServer]:
    with ApiServer.start(version=REAL_VERSION) as srv:
        yield srv


@pytest.fixture(scope="module")
def test_api(test_server: ApiServer) -> Api:
    api = Api(str(test_server.kubeconfig_path))
    ensure_namespace(api)
    return api


@pytest.fixture(scope="module")
def real_api() -> Api | None:
    kubeconfig = os.environ.get("PODTASK_TEST_KUBECONFIG")
    if not kubeconfig:
        return None
    api = Api(kubeconfig)
    ensure_namespace(api)
    return api


IMAGE = os.environ.get("PODTASK_DIFF_IMAGE", "busybox:1.36")
