"""A `podtask run` on the kubernetes engine against the raw kubectl cycle of the same pod.

``python bench/bench_kube_cycle.py [--repeat 5] [--kubeconfig FILE] [--no-host-files]``

The pod is the handoff of ``bench/handoff_task.py`` (a sidecar writes a file
into an emptyDir, the primary waits for it and returns it), built exactly as
``podtask compile --engine kubernetes`` makes it, its placeholders filled as a
run fills them.  Timed in alternation, after one unmeasured warm-up each:

- raw: ``kubectl create -f`` -> ``kubectl wait`` for the primary's
  ``terminated`` -> ``kubectl logs -c`` of each container -> ``kubectl delete
  --wait=false``, four to five kubectl processes one after the other, as a
  shell script would;
- ``podtask run --engine kubernetes bench/handoff_task.py handoff``, the
  console script, from fork to reap;
- the same run again under a tracer (this script with ``--trace-child``) that
  timestamps the engine's steps, for the breakdown.  Its wall time is printed
  beside the breakdown; the tracer adds well under a millisecond.

The cluster is the one of ``--kubeconfig`` or ``$KUBECONFIG``; with neither,
the bench starts podtask's test API server (``python -m
podtask.testing.apiserver``, pods on the local engine, the kubelet's real
defaults) in its own process and says so.  ``--no-host-files`` starts it as a
cluster whose pods do not see this machine's files: code and inputs then go in
a ConfigMap and results come back in the termination message, as on a real
cluster (the raw cycle then creates the same ConfigMap in its one ``kubectl
create``).  Nothing here asserts a timing.
"""

from __future__ import annotations

import argparse
import atexit
import base64
import copy
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
TASK_FILE = HERE / "handoff_task.py"
TASK = "handoff"
PRIMARY = "primary"
TRACE_ENV = "PODTASK_BENCH_TRACE"  # where the traced child writes its timestamps
T0_ENV = "PODTASK_BENCH_T0"  # epoch time just before the traced child was forked


# ------------------------------------------------------------------ the traced child


def _trace_child(argv: list[str]) -> int:
    """Run the podtask CLI with timestamps on the kubernetes engine's steps."""
    marks: list[tuple[str, float]] = [("main", time.time())]
    out = os.environ[TRACE_ENV]

    def dump() -> None:
        marks.append(("exit", time.time()))
        Path(out).write_text(json.dumps(marks))

    atexit.register(dump)
    from podtask.cli.main import main
    from podtask.engines.kubernetes import api_io, configmap, engine, logs

    def wrap(owner: Any, attr: str, label: str) -> None:
        fn = getattr(owner, attr, None)
        if fn is None:
            return

        def traced(*a: Any, **kw: Any) -> Any:
            marks.append((label + ">", time.time()))
            try:
                return fn(*a, **kw)
            finally:
                marks.append((label + "<", time.time()))

        setattr(owner, attr, traced)

    k = engine.KubernetesEngine
    for attr in ("run_attempt", "_start", "_create", "_save_logs", "_delete", "_fetch_outputs"):
        wrap(k, attr, attr.lstrip("_"))
    wrap(configmap.IoConfigMap, "create", "cm_create")
    wrap(configmap.IoConfigMap, "owned_by", "cm_owned")
    wrap(api_io, "read_results", "read_results")
    wrap(api_io, "drop_io", "drop_io")
    wrap(logs.LogStreams, "finish", "logs_finish")
    report = engine._Reporter.report

    def seen(self: Any, containers: Any) -> None:
        for c in containers:
            key = f"{c.name}:{c.state}"
            if c.state in ("running", "terminated") and not any(m == key for m, _ in marks):
                marks.append((key, time.time()))
        report(self, containers)

    engine._Reporter.report = seen  # type: ignore[method-assign]
    try:
        main(argv)
    except SystemExit as exc:
        return int(exc.code or 0) if isinstance(exc.code, int) else 1
    return 0


# ------------------------------------------------------------------ the cluster


class Cluster:
    """The kubeconfig to use, and the test API server process when the bench started one."""

    def __init__(self, kubeconfig: str | None, host_files: bool, scratch: Path) -> None:
        self.proc: subprocess.Popen[str] | None = None
        if kubeconfig:
            self.kubeconfig, self.label = kubeconfig, f"the cluster of {kubeconfig}"
            return
        self.kubeconfig = str(scratch / "kubeconfig")
        cmd = [sys.executable, "-m", "podtask.testing.apiserver", "--kubeconfig", self.kubeconfig]
        if not host_files:
            cmd.append("--no-host-files")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        if self.proc.poll() is not None or "https://" not in line:
            raise SystemExit(f"the test API server did not start: {line!r}")
        files = "pods share this machine's files" if host_files else "--no-host-files"
        self.label = f"podtask's test API server ({line.split(' on ')[0]}, {files})"

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(30)

    def shares_host_files(self) -> bool:
        os.environ["KUBECONFIG"] = self.kubeconfig
        from podtask.engines.kubernetes.client import connect

        return connect(None, self.kubeconfig).shares_host_files()


# ------------------------------------------------------------------ the raw cycle


def compiled_pod(scratch: Path) -> dict[str, Any]:
    """The handoff pod as `podtask compile --engine kubernetes` writes it."""
    import yaml

    out = scratch / "compiled"
    subprocess.run(
        [*podtask_cmd(), "compile", str(TASK_FILE), "--engine", "kubernetes", "-o", str(out)],
        check=True,
        capture_output=True,
    )
    doc: dict[str, Any] = yaml.safe_load((out / f"{TASK}.pod.yaml").read_text())
    return doc


def raw_objects(
    compiled: dict[str, Any], name: str, scratch: Path, host_files: bool
) -> list[dict[str, Any]]:
    """The compiled pod with its placeholders filled as a run fills them (and, without host
    files, the ConfigMap carrying code and inputs that podtask would create with it)."""
    from podtask._contract import (
        ENV_SOURCE_ROOT,
        INPUT_PLACEHOLDER,
        OUTPUT_PREFIX_PLACEHOLDER,
        bootstrap_env,
    )
    from podtask._storage.remote import make_code_bundle
    from podtask.engines.kubernetes import api_io, transport
    from podtask.engines.kubernetes.configmap import IoConfigMap

    pod = copy.deepcopy(compiled)
    pod["metadata"]["name"] = name
    spec = pod["spec"]
    primary = next(c for c in spec["containers"] if c["name"] == PRIMARY)
    env = [{"name": k, "value": v} for k, v in bootstrap_env(name, 1, None).items()]
    objects: list[dict[str, Any]] = []
    if host_files:
        inputs = scratch / f"{name}.inputs.json"
        inputs.write_text("{}")
        outputs = scratch / f"{name}.outputs"
        primary["args"] = [
            a.replace(INPUT_PLACEHOLDER, str(inputs)).replace(
                OUTPUT_PREFIX_PLACEHOLDER, str(outputs)
            )
            for a in primary["args"]
        ]
        env.append({"name": ENV_SOURCE_ROOT, "value": str(HERE)})
    else:
        env += api_io.api_transport(spec, primary, name, ship=True)
        objects.append(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": IoConfigMap.name_for(name)},
                "binaryData": {
                    transport.INPUTS_KEY: base64.b64encode(b"{}").decode(),
                    transport.CODE_KEY: base64.b64encode(make_code_bundle(HERE)).decode(),
                },
            }
        )
    primary["env"] = env
    primary["imagePullPolicy"] = "IfNotPresent"  # as podtask sets it
    return [*objects, pod]


def raw_cycle(kubectl: list[str], objects: list[dict[str, Any]], path: Path) -> float:
    """One raw cycle; returns its wall time (kubectl processes one after the other)."""
    pod = objects[-1]
    name = pod["metadata"]["name"]
    names = [c["name"] for c in pod["spec"]["containers"]]
    path.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": objects}))
    terminated = f'jsonpath={{.status.containerStatuses[?(@.name=="{PRIMARY}")].state.terminated}}'
    steps = [
        [*kubectl, "create", "--validate=false", "-f", str(path)],
        [*kubectl, "wait", f"pod/{name}", f"--for={terminated}", "--timeout=120s"],
        *([*kubectl, "logs", name, "-c", c] for c in names),
        [
            *kubectl,
            "delete",
            "--wait=false",
            *(f"{o['kind'].lower()}/{o['metadata']['name']}" for o in objects),
        ],
    ]
    t0 = time.perf_counter()
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True, timeout=180)
        if done.returncode != 0:
            raise SystemExit(f"raw cycle: {' '.join(step[3:])} failed: {done.stderr.strip()}")
    return time.perf_counter() - t0


# ------------------------------------------------------------------ the podtask run


def podtask_cmd() -> list[str]:
    script = Path(sys.executable).parent / "podtask"
    return [str(script)] if script.exists() else [sys.executable, "-m", "podtask.cli.main"]


RUN_ARGS = ["run", "--engine", "kubernetes", str(TASK_FILE), TASK]


def podtask_run(env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    done = subprocess.run([*podtask_cmd(), *RUN_ARGS], env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if done.returncode != 0 or "handed-over" not in done.stdout:
        raise SystemExit(f"podtask run failed ({done.returncode}): {done.stderr.strip()[-800:]}")
    return wall


def traced_run(env: dict[str, str], scratch: Path) -> tuple[float, dict[str, float]]:
    """One traced run: its wall time and the marks, in seconds since the fork."""
    out = scratch / "trace.json"
    t_fork = time.time()
    env = {**env, TRACE_ENV: str(out), T0_ENV: str(t_fork)}
    t0 = time.perf_counter()
    done = subprocess.run(
        [sys.executable, __file__, "--trace-child", *RUN_ARGS],
        env=env,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"traced podtask run failed: {done.stderr.strip()[-800:]}")
    marks: dict[str, float] = {}
    for label, t in json.loads(out.read_text()):
        marks.setdefault(label, t - t_fork)
    marks["primary:ended"] = _primary_end(env, marks) - t_fork
    return wall, marks


def _primary_end(env: dict[str, str], marks: dict[str, float]) -> float:
    """When the task ended in the pod: the entrypoint's own time (API transport), else the
    mtime of the outputs.json it wrote last (host files)."""
    runs = Path(env["PODTASK_HOME"]) / "runs"
    newest = max(runs.iterdir(), key=lambda p: p.stat().st_mtime)
    for line in (newest / "events.jsonl").read_text().splitlines():
        event = json.loads(line)
        if event.get("event") == "task-finished":
            return float(event["time"])
    return (newest / "outputs" / "outputs.json").stat().st_mtime


def phases(m: dict[str, float]) -> list[tuple[str, float]]:
    """The traced run cut into consecutive phases (seconds each)."""

    def at(*labels: str) -> float:
        return min(m[x] for x in labels if x in m)

    noticed = m.get(f"{PRIMARY}:terminated", m["save_logs>"])
    points = [
        ("client start + imports + task load + run record", at("run_attempt>")),
        ("before create: bundle, inputs, ConfigMap, watch", at("create>")),
        ("create -> primary running (seen)", at(f"{PRIMARY}:running", f"{PRIMARY}:terminated")),
        ("primary running -> primary ended (in the pod)", m["primary:ended"]),
        ("primary ended -> podtask noticed terminated", noticed),
        ("noticed -> logs saved", m.get("save_logs<", noticed)),
        ("delete (with its wait)", m.get("delete<", m.get("save_logs<", noticed))),
        ("outputs and results", max(m.get("fetch_outputs<", 0), m.get("read_results<", 0))),
        ("ConfigMap delete, attempt end", m["run_attempt<"]),
        ("record, print, interpreter exit", m["exit"]),
    ]
    out, prev = [], 0.0
    for label, t in points:
        t = max(t, prev)
        out.append((label, t - prev))
        prev = t
    return out


# ------------------------------------------------------------------ main


def find_kubectl() -> str:
    found = shutil.which("kubectl")
    if found is None:
        raise SystemExit(
            "kubectl is not on PATH: install it (https://kubernetes.io/docs/tasks/tools/)"
        )
    return found


def median(xs: list[float]) -> float:
    return statistics.median(xs)


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--trace-child":
        return _trace_child(sys.argv[2:])
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repeat", type=int, default=5, help="measured cycles of each (default 5)")
    p.add_argument("--kubeconfig", help="the cluster (default $KUBECONFIG, else a test server)")
    p.add_argument(
        "--no-host-files",
        action="store_true",
        help="start the test API server as a cluster whose pods do not see this machine's files",
    )
    args = p.parse_args()
    kubectl_bin = find_kubectl()
    scratch = Path(tempfile.mkdtemp(prefix="podtask-bench-kube-"))
    cluster = Cluster(
        args.kubeconfig or os.environ.get("KUBECONFIG"), not args.no_host_files, scratch
    )
    try:
        return _bench(args, kubectl_bin, cluster, scratch)
    finally:
        cluster.stop()
        shutil.rmtree(scratch, ignore_errors=True)


def _bench(args: argparse.Namespace, kubectl_bin: str, cluster: Cluster, scratch: Path) -> int:
    kubectl = [kubectl_bin, "--kubeconfig", cluster.kubeconfig]
    host_files = cluster.shares_host_files()
    compiled = compiled_pod(scratch)
    env = {**os.environ, "KUBECONFIG": cluster.kubeconfig}
    env.setdefault("PODTASK_HOME", str(scratch / "home"))
    env["PODTASK_HOME"] = str(scratch / "home")  # a fresh run history, removed at the end
    cpus, load = os.cpu_count() or 1, os.getloadavg()[0]
    print(f"cluster: {cluster.label}")
    print(f"machine: {cpus} CPU(s), load average {load:.1f}; {args.repeat} cycles each + warm-up")
    raw: list[float] = []
    ours: list[float] = []
    traced: list[tuple[float, dict[str, float]]] = []
    for i in range(-1, args.repeat):
        name = f"bench-raw-{os.getpid()}-{i + 1}"
        objects = raw_objects(compiled, name, scratch, host_files)
        raw.append(raw_cycle(kubectl, objects, scratch / "raw.json"))
        ours.append(podtask_run(env))
        traced.append(traced_run(env, scratch))
        if i < 0:  # the warm-up: caches, the bytecode, the server's first pods
            raw.clear(), ours.clear(), traced.clear()
    r, o, t = median(raw), median(ours), median(w for w, _ in traced)
    rows = [
        ("raw kubectl cycle", r, min(raw), "-", "reference"),
        ("podtask run --engine kubernetes", o, min(ours), f"{o / r:.2f}x", "<= 1.2x"),
        ("same, traced (breakdown below)", t, min(w for w, _ in traced), f"{t / r:.2f}x", ""),
    ]
    print()
    print("| what | median | min | ratio to raw | aim |")
    print("|---|---|---|---|---|")
    for what, med, low, ratio, aim in rows:
        print(f"| {what} | {med:.3f} s | {low:.3f} s | {ratio} | {aim} |")
    paired = median([p / q for p, q in zip(ours, raw, strict=True)])
    print(
        f"median of the per-cycle ratios (each podtask run over the raw cycle just before it, "
        f"so both saw the same load): {paired:.2f}x"
    )
    print()
    print("breakdown of the traced podtask run (median of each phase):")
    cuts = [phases(m) for _, m in traced]
    print("| phase | median |")
    print("|---|---|")
    for j, (label, _) in enumerate(cuts[0]):
        print(f"| {label} | {median([c[j][1] for c in cuts]) * 1000:.0f} ms |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
