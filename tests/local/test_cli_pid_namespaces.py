"""shareProcessNamespace on the local engine: PID-1 semantics per container, as on a cluster."""

from __future__ import annotations

from typing import Any

from tests.local.cli_helpers import needs_ns, run_task

pytestmark = needs_ns


def sidecar(doc: dict[str, Any]) -> dict[str, Any]:
    return next(c for c in doc["containers"] if c["name"] == "sleeper")


def test_own_pid_namespace_sidecar_shell_ignores_sigterm_and_is_killed_at_grace_end() -> None:
    rc, doc, err = run_task("pid1_sidecar")
    assert rc == 0, err
    pid, count = doc["outputs"]["o0"].split()
    assert pid == "1", "the primary is PID 1 of its own namespace"
    assert int(count) <= 2, "the primary sees the other containers' processes"
    side = sidecar(doc)
    waited = side["finished_at"] - side["stop_signal_at"]
    assert waited >= 1.9, f"PID 1 without a handler must ignore SIGTERM (gone after {waited})"
    assert side["exit_code"] == 137
    notices = [line for line in err.splitlines() if "ignored SIGTERM" in line]
    assert notices == [
        "sidecar 'sleeper' ignored SIGTERM for 2 s: its PID 1 (sh) forwards no signals;"
        " use exec or a trap"
    ], err


def test_shared_pid_namespace_sidecar_shell_dies_of_sigterm_at_once() -> None:
    rc, doc, err = run_task("shared_pid_sidecar")
    assert rc == 0, err
    assert doc["outputs"]["o0"] == "podinit"  # one namespace, podinit its PID 1
    side = sidecar(doc)
    assert side["finished_at"] - side["stop_signal_at"] < 1.0
    assert side["exit_code"] == 143
    assert "ignored SIGTERM" not in err
