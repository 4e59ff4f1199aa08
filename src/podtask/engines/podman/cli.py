"""The only place that runs the podman binary.

Every call runs in its own session, so a Ctrl-C typed at podtask's terminal
reaches podtask alone: podtask then stops the pod with the grace period rather
than podman's helpers dying half-way.  Failures become ``InfrastructureError``
with podman's own words (minus the harmless syslog line it prints here).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from podtask._errors import EngineUnavailable, InfrastructureError

INSTALL_HINT = (
    "the podman engine needs podman (>= 4.3) on PATH: install it with `apt-get install podman`"
    " (Debian/Ubuntu) or `dnf install podman`, or run `.ci/setup-podman.sh`; or use --engine local"
)
_NOISE = ("failed to connect to syslog",)
_TIME = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)?$")


def parse_time(text: str) -> float | None:
    """Epoch seconds of podman's RFC 3339 time (nanoseconds allowed); None for the zero time."""
    m = _TIME.match(text.strip())
    if m is None or m.group(1).startswith("0001-"):
        return None
    frac = (m.group(2) or "0")[:6].ljust(6, "0")
    zone = m.group(3) or "Z"
    stamp = datetime.fromisoformat(f"{m.group(1)}.{frac}{'+00:00' if zone == 'Z' else zone}")
    return stamp.replace(tzinfo=stamp.tzinfo or timezone.utc).timestamp()


def clean_stderr(text: str) -> str:
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith(_NOISE)]
    return "\n".join(lines).strip()


class PodmanError(InfrastructureError):
    """A podman command failed; the message carries the command and podman's error."""


@dataclass(frozen=True)
class ContainerState:
    """What ``podman container inspect`` says about one container, in podtask's units."""

    name: str
    status: str  # created, running, exited, ...
    exit_code: int
    oom_killed: bool
    started_at: float | None
    finished_at: float | None
    pid: int
    error: str
    log_path: str

    @property
    def ever_started(self) -> bool:
        return self.started_at is not None


class Podman:
    """A podman binary; each method is one podman command."""

    def __init__(self, binary: str) -> None:
        self.binary = binary

    @classmethod
    def find(cls) -> Podman:
        binary = shutil.which("podman")
        if binary is None:
            raise EngineUnavailable(f"podman not found on PATH; {INSTALL_HINT}")
        return cls(binary)

    # -- plumbing -------------------------------------------------------------------
    def run(
        self, *args: str, timeout: float | None = 60, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        try:
            proc = subprocess.run(
                [self.binary, *args],
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=timeout,
                start_new_session=True,
            )
        except subprocess.TimeoutExpired as exc:
            raise PodmanError(f"podman {args[0]} did not answer within {timeout:g}s") from exc
        except OSError as exc:
            raise EngineUnavailable(f"cannot run {self.binary}: {exc}; {INSTALL_HINT}") from exc
        if check and proc.returncode != 0:
            raise PodmanError(
                f"podman {' '.join(args[:2])} failed (exit {proc.returncode}):"
                f" {clean_stderr(proc.stderr) or proc.stdout.strip()}"
            )
        return proc

    def popen(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [self.binary, *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )

    # -- images ---------------------------------------------------------------------
    def images_present(self, images: Sequence[str]) -> bool:
        """One call for all: true when every image is in local storage (short names resolve)."""
        return (
            self.run("image", "inspect", "--format", "{{.Id}}", *images, check=False).returncode
            == 0
        )

    def image_present(self, image: str) -> bool:
        return self.run("image", "exists", image, check=False).returncode == 0

    def pull(self, image: str, timeout: float) -> str | None:
        """Pull ``image``; None on success, else podman's error (a timeout is an error too)."""
        try:
            proc = self.run("pull", "--quiet", image, timeout=timeout, check=False)
        except PodmanError as exc:
            return str(exc)
        return None if proc.returncode == 0 else clean_stderr(proc.stderr) or "pull failed"

    # -- pods and containers ------------------------------------------------------
    def play(self, yaml_path: str) -> None:
        """Create pod, containers and volumes; start nothing (podtask starts in its own order)."""
        self.run("kube", "play", "--start=false", "--log-driver", "k8s-file", yaml_path)

    def start(self, names: Sequence[str]) -> str:
        """Start ``names`` in order; '' on success, else podman's error (some may have started)."""
        proc = self.run("start", *names, check=False)
        return "" if proc.returncode == 0 else clean_stderr(proc.stderr) or "start failed"

    def inspect(self, names: Sequence[str]) -> dict[str, ContainerState]:
        fmt = "{{json .Name}}\t{{json .State}}\t{{json .HostConfig.LogConfig.Path}}"
        proc = self.run("container", "inspect", "--format", fmt, *names, check=False)
        out: dict[str, ContainerState] = {}
        for line in proc.stdout.splitlines():
            parts = line.split("\t")
            if len(parts) != 3:
                continue
            name, state, log_path = (json.loads(p) for p in parts)
            out[str(name)] = _state(str(name), state, str(log_path or ""))
        return out

    def wait(self, name: str) -> subprocess.Popen[str]:
        """A ``podman wait`` process: it ends when the container does (its stdout: the code)."""
        return self.popen("wait", name)

    def log_tail(self, name: str, lines: int) -> bytes:
        """The last ``lines`` lines a container wrote (stdout and stderr), b'' on error."""
        proc = subprocess.run(
            [self.binary, "logs", "--tail", str(lines), name],
            capture_output=True,
            timeout=30,
            check=False,
        )
        return proc.stdout + proc.stderr if proc.returncode == 0 else b""

    def kill(self, names: Sequence[str], signal: str) -> None:
        if names:
            self.run("kill", "--signal", signal, *names, check=False)

    def exec(self, name: str, argv: Sequence[str], timeout: float) -> tuple[int, str]:
        """Run argv in the container (exec probes); a timeout counts as exit 137."""
        try:
            proc = self.run("exec", name, *argv, timeout=timeout + 2, check=False)
        except PodmanError:
            return 137, f"command timed out after {timeout:g}s"
        return proc.returncode, (proc.stdout + proc.stderr)[-10240:]

    def stop_pod(self, pod: str, grace: int = 0) -> None:
        self.run("pod", "stop", "-t", str(grace), pod, check=False, timeout=grace + 60)

    def remove_pod(self, pod: str, *, stopped: bool = False) -> None:
        """Stop, then remove: ``pod rm`` of a pod whose infra stopped by itself stalls ~3.5 s
        in podman 4.3.1 (removing the pod cgroup), ``pod stop`` first avoids it."""
        if not stopped:
            self.stop_pod(pod)
        if self.run("pod", "rm", pod, check=False).returncode != 0 and self.pod_exists(pod):
            self.run("pod", "rm", "-f", "-t", "0", pod, check=False)

    def pod_exists(self, pod: str) -> bool:
        return self.run("pod", "exists", pod, check=False).returncode == 0

    def pods_with_label(self, label: str) -> list[str]:
        proc = self.run(
            "pod", "ps", "--filter", f"label={label}", "--format", "{{.Name}}", check=False
        )
        return proc.stdout.split()


def _state(name: str, s: dict[str, Any], log_path: str) -> ContainerState:
    started = parse_time(str(s.get("StartedAt", "")))
    finished = parse_time(str(s.get("FinishedAt", "")))
    status = str(s.get("Status", ""))
    if status in ("created", "configured", "initialized") and started is None:
        finished = None
    if started is not None and finished is not None:
        finished = max(started, finished)  # podman can stamp a fast exit before its start
    return ContainerState(
        name=name,
        status=status,
        exit_code=int(s.get("ExitCode") or 0),
        oom_killed=bool(s.get("OOMKilled")),
        started_at=started,
        finished_at=finished if status not in ("running", "paused") else None,
        pid=int(s.get("Pid") or 0),
        error=str(s.get("Error") or ""),
        log_path=log_path,
    )
