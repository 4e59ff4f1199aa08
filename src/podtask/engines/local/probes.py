"""Single Kubernetes probe attempts (tcpSocket, httpGet, exec) and one-shot exec.

These run inside a helper process that the pod supervisor forks, so that they
see the pod's network namespace (``127.0.0.1`` is the pod's loopback) and, for
exec, the container's mount namespace; the supervisor's event loop never
blocks on a slow probe. Retries, periods and thresholds are the engine's job:
here is one attempt with one timeout, answering ``(ok, message)`` the way
the kubelet words it.  ``run_probe`` (from ``podtask._probes``) is re-exported
for the supervisor.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Mapping, Sequence

from podtask._probes import run_probe

_OUTPUT_LIMIT = 64 * 1024  # exec output kept per call (the kubelet keeps 10 KiB of probe output)


def run_exec(
    argv: Sequence[str], env: Mapping[str, str], cwd: str, timeout: float
) -> tuple[int, str]:
    """Run argv to completion: (exit code, combined stdout+stderr).

    Exit codes follow the shell's conventions for what did not run: 127 not
    found, 126 not executable; a timeout kills the whole process group and
    gives 137 with a message, a signal death ``128 + signal``.
    """
    import subprocess  # lazily: only helpers forked from the supervisor need it

    try:
        proc = subprocess.Popen(
            list(argv),
            env=dict(env),
            cwd=cwd or "/",
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    except FileNotFoundError as exc:
        return 127, f"exec: {argv[0]!r}: executable file not found in $PATH ({exc.strerror})"
    except PermissionError as exc:
        return 126, f"exec: {argv[0]!r}: permission denied ({exc.strerror})"
    except OSError as exc:
        return 126, f"exec: {argv[0]!r}: {exc}"
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        text = out[-_OUTPUT_LIMIT:].decode("utf-8", "replace")
        return 137, text + f"\ncommand timed out after {timeout:g}s"
    code = proc.returncode
    if code < 0:
        code = 128 - code
    return code, out[-_OUTPUT_LIMIT:].decode("utf-8", "replace")


__all__ = ["run_exec", "run_probe"]
