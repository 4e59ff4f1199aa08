"""securityContext and host namespaces on the local engine, through the real CLI.

Each field is either honoured (checked from inside the container: ids,
capability sets, no_new_privs, a read-only root) or refused before anything
starts (exit 2, the field named).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from tests.local.cli_helpers import needs_ns, run_task
from tests.local.tasks.security_tasks import REFUSED

from podtask.engines.local.security import CAPABILITIES, RUNTIME_DEFAULT_CAPABILITIES

pytestmark = needs_ns


def caps(line: str) -> set[int]:
    mask = int(line.split(":")[1], 16)
    return {n for n in range(64) if mask >> n & 1}


def test_user_groups_capabilities_no_new_privs_and_read_only_root_are_applied() -> None:
    rc, doc, err = run_task("security_context_applied")
    assert rc == 0, err
    seen = json.loads(doc["outputs"]["o0"])
    assert seen["uid"] == "1000" and seen["gid"] == "3000"
    # supplementalGroups and fsGroup, and the emptyDir belongs to the fsGroup
    assert set(seen["groups"].split()) == {"3000", "4000", "5000"}
    assert seen["volume-group"] == "5000"
    status = dict(line.split(":\t") for line in seen["status"].splitlines())
    assert status["NoNewPrivs"] == "1"
    assert caps(f"x:{status['CapBnd']}") == {CAPABILITIES["NET_BIND_SERVICE"]}
    assert caps(f"x:{status['CapEff']}") == set() == caps(f"x:{status['CapPrm']}")
    assert seen["root"] == "read-only"  # while /data (a volume) stayed writable
    # A root container that drops two capabilities keeps the others.
    root = dict(line.split(":\t") for line in seen["root-status"].splitlines())
    dropped = {CAPABILITIES["NET_RAW"], CAPABILITIES["SYS_ADMIN"]}
    assert seen["root-uid"] == "0"
    assert caps(f"x:{root['CapEff']}") & dropped == set()
    assert CAPABILITIES["CHOWN"] in caps(f"x:{root['CapBnd']}")
    # privileged: false starts from a container runtime's default set, then add/drop.
    assert caps(seen["unprivileged"]) == RUNTIME_DEFAULT_CAPABILITIES | {CAPABILITIES["NET_ADMIN"]}


def test_run_as_non_root_refuses_a_root_container_with_the_kubelets_words() -> None:
    rc, doc, err = run_task("run_as_non_root_refused")
    assert rc == 1, err
    assert doc["reason"] == "CreateContainerConfigError"
    assert "container has runAsNonRoot and image will run as root" in doc["message"]
    assert doc["outputs"] in ({}, None)


def test_a_primary_with_run_as_user_runs_as_that_user_and_returns_its_outputs() -> None:
    rc, doc, err = run_task("primary_as_user")
    assert rc == 0, err
    uid, _gid = doc["outputs"]["o0"].split(":")
    assert uid == "1000"
    assert oct(os.stat("/root").st_mode & 0o777) == oct(0o700), "the host's /root was changed"


def test_host_network_and_host_ipc_share_the_hosts_namespaces() -> None:
    rc, doc, err = run_task("host_namespaces")
    assert rc == 0, err
    seen = json.loads(doc["outputs"]["o0"])
    with open("/proc/net/dev") as f:
        host = sorted(line.split(":")[0].strip() for line in f.readlines()[2:])
    assert seen["interfaces"] == host
    assert seen["ipc"] == os.readlink("/proc/self/ns/ipc")


@pytest.mark.parametrize("task", sorted(REFUSED))
def test_what_cannot_be_honoured_is_refused_before_anything_starts(
    task: str, podtask_home: Path
) -> None:
    rc, _doc, err = run_task(task)
    assert rc == 2, err
    assert REFUSED[task][1] in err
    assert not any((podtask_home / "runs").glob("*")), "a run was started"


def test_a_writable_host_path_of_a_system_dir_gets_one_warning_line() -> None:
    rc, _doc, err = run_task("host_etc_writable")
    assert rc == 0, err
    warnings = [line for line in err.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "/etc" in warnings[0] and "readOnly" in warnings[0], err
    rc, _doc, err = run_task("host_etc_read_only")
    assert rc == 0, err
    assert "warning:" not in err
