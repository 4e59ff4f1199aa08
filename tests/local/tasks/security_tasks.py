"""Tasks for the local engine's security tests; ``PODTASK_TEST_HOSTDIR`` is a host directory.

The pod specs are built at import time from the environment, so the CLI (which
imports this file) and the test agree on the paths.
"""

from __future__ import annotations

import os
from typing import Any

import podtask

HOSTDIR = os.environ.get("PODTASK_TEST_HOSTDIR", "/nonexistent-podtask-test-dir")


def _sub_path_spec(link_target: str) -> dict[str, Any]:
    """An init container links ``/data/esc`` to ``link_target``; the primary mounts subPath esc."""
    return {
        "volumes": [{"name": "data", "emptyDir": {}}],
        "initContainers": [
            {
                "name": "linker",
                "image": "alpine",
                "command": [
                    "sh",
                    "-c",
                    f"mkdir -p /data/inside && rm -rf /data/esc && ln -s {link_target} /data/esc",
                ],
                "volumeMounts": [{"name": "data", "mountPath": "/data"}],
            }
        ],
        "containers": [
            {
                "name": "primary",
                "volumeMounts": [
                    {"name": "data", "mountPath": "/out", "subPath": "esc"},
                    {"name": "data", "mountPath": "/whole", "readOnly": True},
                ],
            }
        ],
    }


def _write_out() -> str:
    with open("/out/written.txt", "w") as f:
        f.write("from the primary\n")
    return "ok"


@podtask.task(pod=podtask.Pod(spec=_sub_path_spec(HOSTDIR), primary_container="primary"))
def sub_path_escape() -> str:
    return _write_out()


@podtask.task(pod=podtask.Pod(spec=_sub_path_spec("inside"), primary_container="primary"))
def sub_path_inside() -> str:
    _write_out()
    with open("/whole/inside/written.txt") as f:  # the link resolved inside the volume
        return f.read().strip()


_PROBE_SH = (
    "id -u > /data/uid; id -g > /data/gid; id -G > /data/groups;"
    " grep -E '^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs)' /proc/self/status > /data/status;"
    " if touch /rootfile 2>/dev/null; then echo writable; else echo read-only; fi > /data/root;"
    " stat -c %g /data > /data/volume-group"
)

RESTRICTED = {
    "securityContext": {"supplementalGroups": [4000], "fsGroup": 5000},
    "volumes": [{"name": "data", "emptyDir": {}}],
    "initContainers": [
        {
            "name": "restricted",
            "image": "alpine",
            "command": ["sh", "-c", _PROBE_SH],
            "volumeMounts": [{"name": "data", "mountPath": "/data"}],
            "securityContext": {
                "runAsUser": 1000,
                "runAsGroup": 3000,
                "readOnlyRootFilesystem": True,
                "allowPrivilegeEscalation": False,
                "capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]},
            },
        },
        {
            "name": "root-minus-raw",
            "image": "alpine",
            "command": [
                "sh",
                "-c",
                "grep -E '^(CapEff|CapBnd)' /proc/self/status > /data/root-status; id -u > /data/root-uid",
            ],
            "volumeMounts": [{"name": "data", "mountPath": "/data"}],
            "securityContext": {"capabilities": {"drop": ["NET_RAW", "CAP_SYS_ADMIN"]}},
        },
        {
            "name": "unprivileged",
            "image": "alpine",
            "command": ["sh", "-c", "grep -E '^CapBnd' /proc/self/status > /data/unprivileged"],
            "volumeMounts": [{"name": "data", "mountPath": "/data"}],
            "securityContext": {"privileged": False, "capabilities": {"add": ["NET_ADMIN"]}},
        },
    ],
    "containers": [{"name": "primary", "volumeMounts": [{"name": "data", "mountPath": "/data"}]}],
}


@podtask.task(pod=podtask.Pod(spec=RESTRICTED, primary_container="primary"))
def security_context_applied() -> str:
    import json

    names = os.listdir("/data")
    return json.dumps({n: open(f"/data/{n}").read().strip() for n in names})


@podtask.task(
    pod=podtask.Pod(
        spec={"containers": [{"name": "primary", "securityContext": {"runAsNonRoot": True}}]},
        primary_container="primary",
    )
)
def run_as_non_root_refused() -> str:
    return "ran as root"


@podtask.task(
    pod=podtask.Pod(
        spec={
            "securityContext": {"runAsNonRoot": True, "runAsUser": 1000},
            "containers": [{"name": "primary"}],
        },
        primary_container="primary",
    )
)
def primary_as_user() -> str:
    return f"{os.getuid()}:{os.getgid()}"


@podtask.task(
    pod=podtask.Pod(
        spec={"hostNetwork": True, "hostIPC": True, "containers": [{"name": "primary"}]},
        primary_container="primary",
    )
)
def host_namespaces() -> str:
    import json

    with open("/proc/net/dev") as f:
        interfaces = sorted(line.split(":")[0].strip() for line in f.readlines()[2:])
    return json.dumps({"interfaces": interfaces, "ipc": os.readlink("/proc/self/ns/ipc")})


def _one(extra_pod: dict[str, Any], extra_primary: dict[str, Any]) -> dict[str, Any]:
    return {**extra_pod, "containers": [{"name": "primary", **extra_primary}]}


REFUSED = {
    "host_pid": (_one({"hostPID": True}, {}), "spec.hostPID"),
    "seccomp_runtime_default": (
        _one({}, {"securityContext": {"seccompProfile": {"type": "RuntimeDefault"}}}),
        "spec.containers[0].securityContext.seccompProfile.type",
    ),
    "host_port": (
        _one({}, {"ports": [{"containerPort": 8080, "hostPort": 8080}]}),
        "spec.containers[0].ports[0].hostPort",
    ),
    "selinux": (
        _one({"securityContext": {"seLinuxOptions": {"level": "s0:c1"}}}, {}),
        "spec.securityContext.seLinuxOptions",
    ),
}


def _refused_task(name: str, spec: dict[str, Any]) -> Any:
    def body() -> str:
        return "started"

    body.__name__ = body.__qualname__ = name
    return podtask.task(pod=podtask.Pod(spec=spec, primary_container="primary"))(body)


for _name, (_spec, _field) in REFUSED.items():
    globals()[_name] = _refused_task(_name, _spec)


def _host_path(read_only: bool) -> dict[str, Any]:
    return {
        "volumes": [{"name": "etc", "hostPath": {"path": "/etc", "type": "Directory"}}],
        "containers": [
            {
                "name": "primary",
                "volumeMounts": [{"name": "etc", "mountPath": "/host-etc", "readOnly": read_only}],
            }
        ],
    }


@podtask.task(pod=podtask.Pod(spec=_host_path(False), primary_container="primary"))
def host_etc_writable() -> str:
    return "ok"


@podtask.task(pod=podtask.Pod(spec=_host_path(True), primary_container="primary"))
def host_etc_read_only() -> str:
    return "ok"


def _sleeper_pod(share: bool) -> dict[str, Any]:
    """A sidecar whose PID 1 is a shell without a trap: on a cluster it ignores SIGTERM."""
    return {
        "shareProcessNamespace": share,
        "terminationGracePeriodSeconds": 2,
        "containers": [
            {"name": "primary"},
            {
                "name": "sleeper",
                "image": "alpine",
                "command": ["sh", "-c", "sleep 1000; echo done"],
            },
        ],
    }


@podtask.task(pod=podtask.Pod(spec=_sleeper_pod(False), primary_container="primary"))
def pid1_sidecar() -> str:
    import time

    time.sleep(0.3)
    return f"{os.getpid()} {len([p for p in os.listdir('/proc') if p.isdigit()])}"


@podtask.task(pod=podtask.Pod(spec=_sleeper_pod(True), primary_container="primary"))
def shared_pid_sidecar() -> str:
    import time

    time.sleep(0.3)
    with open("/proc/1/comm") as f:
        return f.read().strip()


def _messages_pod() -> dict[str, Any]:
    return {
        "containers": [
            {"name": "primary"},
            {
                "name": "writer",
                "image": "alpine",
                "command": ["sh", "-c", "echo 'all good' > /dev/termination-log; exit 3"],
            },
            {
                "name": "custom",
                "image": "alpine",
                "command": ["sh", "-c", "printf 'custom path' > /tmp/my-term; exit 0"],
                "terminationMessagePath": "/tmp/my-term",
            },
            {
                "name": "fallback",
                "image": "alpine",
                "command": ["sh", "-c", "echo first; echo 'last words'; exit 4"],
                "terminationMessagePolicy": "FallbackToLogsOnError",
            },
            {
                "name": "fallback-ok",
                "image": "alpine",
                "command": ["sh", "-c", "echo 'not a message'; exit 0"],
                "terminationMessagePolicy": "FallbackToLogsOnError",
            },
        ]
    }


@podtask.task(pod=podtask.Pod(spec=_messages_pod(), primary_container="primary"))
def termination_messages() -> str:
    import time

    time.sleep(1.0)  # the sidecars end first
    return "done"
