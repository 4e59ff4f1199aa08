"""The local engine: one pod as host processes, with the pod's meaning kept.

The pod supervisor (``sandbox``/``podinit``) does the Linux work; what the
pod means (start order, probes, restarts, stop order and grace) is the shared
pod driver's (``engines._kubelet``), to which ``SandboxRuntime`` adapts the
sandbox.  Once the attempt ends, the pod supervisor and every mount,
namespace and temp dir go away.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from podtask._compile.render import Capabilities
from podtask._contract import ENTRYPOINT_MODULE, bootstrap_env
from podtask._errors import InfrastructureError
from podtask._run import AttemptContext, AttemptOutcome, EngineOptions, LocalOptions
from podtask.engines._kubelet.attempt import mark_attempt_in_logs, run_attempt
from podtask.engines._kubelet.port import RuntimeEvent, check_probes
from podtask.engines.local.cgroups import cgroups_available
from podtask.engines.local.linux import namespaces_available
from podtask.engines.local.sandbox import PodSandbox
from podtask.engines.local.security import host_path_warnings
from podtask.engines.local.translate import ContainerInfo, build_plan, create_host_paths
from podtask.engines.local.workdirs import make_work_dir, sweep_stale_work_dirs


class SandboxRuntime:
    """The pod driver's runtime port over a ``PodSandbox`` (podinit does the Linux work)."""

    def __init__(self, sandbox: PodSandbox) -> None:
        self.sandbox = sandbox

    def start(self, names: Sequence[str]) -> None:
        for name in names:
            self.sandbox.start_container(name)

    def signal(self, names: Sequence[str], sig: int) -> None:
        for name in names:
            self.sandbox.signal(name, sig)

    def next_event(self, timeout: float) -> RuntimeEvent | None:
        return self.sandbox.next_event(timeout)  # its Event is a RuntimeEvent with a pid

    def probe(self, name: str, spec: dict[str, Any], timeout: float) -> tuple[bool, str]:
        return self.sandbox.probe(name, spec, timeout)


class LocalEngine:
    """Pods as host processes in Linux namespaces; no daemon, nothing left behind."""

    name = "local"
    options_type = LocalOptions

    def __init__(self) -> None:
        self.namespace_problem = namespaces_available()
        self._announced = False

    def _plan(self, ctx: AttemptContext, work_dir: str) -> tuple[Any, list[ContainerInfo]]:
        return build_plan(
            ctx.manifest,
            run_id=ctx.run_id,
            primary=ctx.primary,
            work_dir=work_dir,
            log_path=ctx.run_dir.log_path,
            run_dir=ctx.run_dir.path,
            extra_env=bootstrap_env(ctx.run_id, ctx.attempt, ctx.source_root),
            isolate=self.namespace_problem is None,
        )

    def capabilities(self, options: EngineOptions, run_dir: Path) -> Capabilities:
        """The primary runs this interpreter, so it sees the user's code and packages."""
        return Capabilities(entrypoint=(sys.executable, "-m", ENTRYPOINT_MODULE))

    def prepare(self, ctx: AttemptContext) -> None:
        plan, infos = self._plan(ctx, "/nonexistent-work-dir")
        check_probes(infos)
        if self._announced:
            return
        self._announced = True
        ctx.notice(
            "local engine: images are not pulled; each container's command runs from this host"
        )
        for warning in host_path_warnings(ctx.manifest.get("spec", {})):
            ctx.notice(f"warning: {warning}")
        if self.namespace_problem:
            ctx.notice(
                f"local engine: no namespaces ({self.namespace_problem}); running plain processes"
            )
        if any(c.memory_limit_bytes for c in plan.containers):
            problem = cgroups_available()
            if problem:
                ctx.notice(f"local engine: memory limits are not enforced here ({problem})")

    def run_attempt(self, ctx: AttemptContext) -> AttemptOutcome:
        create_host_paths(ctx.manifest)
        sweep_stale_work_dirs()  # left by a podtask that was killed with kill -9
        work_dir = make_work_dir(ctx.run_id)
        plan, infos = self._plan(ctx, work_dir)
        mark_attempt_in_logs(ctx, (i.name for i in infos))
        try:
            sandbox = PodSandbox.start(plan)
        except InfrastructureError:
            import shutil

            shutil.rmtree(work_dir, ignore_errors=True)
            raise
        with sandbox:
            return run_attempt(ctx, SandboxRuntime(sandbox), infos)
