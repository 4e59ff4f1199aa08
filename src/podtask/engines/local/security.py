"""What the local engine makes of ``securityContext`` and the pod's host namespaces.

Users write these fields to be safe, so silently dropping one is unsafe. Each
field is either honoured by podinit with the Linux call a container runtime
would make, or refused before anything starts (``SpecError``, exit 2) with
the field named. A local container otherwise runs as podtask's user (root)
with every capability, as ``privileged: true`` would; the fields below can
only take privileges away from that, never add any.

Honoured: ``runAsUser``, ``runAsGroup``, ``supplementalGroups``, ``fsGroup``
(an extra group, and emptyDirs owned by it), ``runAsNonRoot`` (the container
fails with the kubelet's ``CreateContainerConfigError``), ``readOnlyRootFilesystem``,
``capabilities.drop``/``add`` (bounding, permitted, effective, inheritable and
ambient sets), ``allowPrivilegeEscalation: false`` (``no_new_privs``),
``privileged`` (true: what local containers already are; false: the capability set
a container runtime gives, before ``drop``/``add``), ``seccompProfile``/``appArmorProfile``
of type ``Unconfined``, ``procMount: Default``, ``hostNetwork`` and ``hostIPC``
(that namespace is not unshared).

Refused: seccomp/AppArmor profiles other than ``Unconfined`` and
``seLinuxOptions`` (the local engine loads no security profiles), ``sysctls``,
``procMount: Unmasked``, ``hostUsers: false``, ``hostPID`` (each pod's PID
namespace is what guarantees that a ``kill -9`` of podtask leaves no process
behind), and ``hostPort`` without ``hostNetwork`` (there is no port forwarding
into a pod's network namespace).
"""

from __future__ import annotations

from typing import Any

from podtask._errors import SpecError

HINT = "remove it, or use --engine podman or --engine kubernetes"

# Linux capability numbers (include/uapi/linux/capability.h), as Kubernetes names them.
CAPABILITIES = {
    name: number
    for number, name in enumerate(
        (
            "CHOWN",
            "DAC_OVERRIDE",
            "DAC_READ_SEARCH",
            "FOWNER",
            "FSETID",
            "KILL",
            "SETGID",
            "SETUID",
            "SETPCAP",
            "LINUX_IMMUTABLE",
            "NET_BIND_SERVICE",
            "NET_BROADCAST",
            "NET_ADMIN",
            "NET_RAW",
            "IPC_LOCK",
            "IPC_OWNER",
            "SYS_MODULE",
            "SYS_RAWIO",
            "SYS_CHROOT",
            "SYS_PTRACE",
            "SYS_PACCT",
            "SYS_ADMIN",
            "SYS_BOOT",
            "SYS_NICE",
            "SYS_RESOURCE",
            "SYS_TIME",
            "SYS_TTY_CONFIG",
            "MKNOD",
            "LEASE",
            "AUDIT_WRITE",
            "AUDIT_CONTROL",
            "SETFCAP",
            "MAC_OVERRIDE",
            "MAC_ADMIN",
            "SYSLOG",
            "WAKE_ALARM",
            "BLOCK_SUSPEND",
            "AUDIT_READ",
            "PERFMON",
            "BPF",
            "CHECKPOINT_RESTORE",
        )
    )
}

# What containerd and CRI-O give a container that is not privileged (their default set).
RUNTIME_DEFAULT_CAPABILITIES = frozenset(
    CAPABILITIES[n]
    for n in (
        "CHOWN",
        "DAC_OVERRIDE",
        "FSETID",
        "FOWNER",
        "MKNOD",
        "NET_RAW",
        "SETGID",
        "SETUID",
        "SETFCAP",
        "SETPCAP",
        "NET_BIND_SERVICE",
        "SYS_CHROOT",
        "KILL",
        "AUDIT_WRITE",
    )
)

# Host directories that a pod should not be able to change (one warning line each).
SYSTEM_DIRS = (
    "/etc",
    "/usr",
    "/bin",
    "/sbin",
    "/boot",
    "/proc",
    "/sys",
    "/dev",
    "/var/run",
    "/run",
)

_POD_FIELDS = {
    "runAsUser",
    "runAsGroup",
    "runAsNonRoot",
    "supplementalGroups",
    "supplementalGroupsPolicy",
    "fsGroup",
    "fsGroupChangePolicy",
    "seccompProfile",
    "appArmorProfile",
    "seLinuxOptions",
    "sysctls",
    "windowsOptions",
    "seLinuxChangePolicy",
}
_CONTAINER_FIELDS = {
    "runAsUser",
    "runAsGroup",
    "runAsNonRoot",
    "readOnlyRootFilesystem",
    "allowPrivilegeEscalation",
    "capabilities",
    "privileged",
    "procMount",
    "seccompProfile",
    "appArmorProfile",
    "seLinuxOptions",
    "windowsOptions",
}


def _refuse(what: str, where: str) -> SpecError:
    return SpecError(f"{what}; the local engine cannot honour it", field=where, hint=HINT)


def _check_common(sc: dict[str, Any], where: str, known: set[str]) -> None:
    for key in sorted(sc):
        if key not in known:
            raise _refuse(f"securityContext.{key} is not supported", f"{where}.{key}")
    for key in ("seccompProfile", "appArmorProfile"):
        kind = (sc.get(key) or {}).get("type")
        if sc.get(key) is not None and kind != "Unconfined":
            raise _refuse(
                f"{key} type {kind!r} needs a profile loaded by a container runtime",
                f"{where}.{key}.type",
            )
    if sc.get("seLinuxOptions"):
        raise _refuse("SELinux labels need a container runtime", f"{where}.seLinuxOptions")
    if sc.get("sysctls"):
        raise _refuse("sysctls would change this machine's kernel", f"{where}.sysctls")
    if sc.get("procMount") not in (None, "Default"):
        raise _refuse("procMount Unmasked is not available", f"{where}.procMount")


def check_pod(spec: dict[str, Any]) -> None:
    """Refuse (SpecError) the pod-level fields the local engine cannot honour."""
    _check_common(spec.get("securityContext") or {}, "spec.securityContext", _POD_FIELDS)
    if spec.get("hostPID"):
        raise _refuse(
            "hostPID: each local pod's own PID namespace is what makes sure nothing of it"
            " outlives podtask",
            "spec.hostPID",
        )
    if spec.get("hostUsers") is False:
        raise _refuse("user namespaces (hostUsers: false) are not available", "spec.hostUsers")
    for key in ("initContainers", "containers"):
        for i, c in enumerate(spec.get(key) or []):
            where = f"spec.{key}[{i}]"
            _check_common(
                c.get("securityContext") or {}, f"{where}.securityContext", _CONTAINER_FIELDS
            )
            for j, port in enumerate(c.get("ports") or []):
                if port.get("hostPort") and not spec.get("hostNetwork"):
                    raise _refuse(
                        "hostPort: a local pod has its own network namespace and nothing"
                        " forwards the host's port into it (hostNetwork: true would share"
                        " the host's)",
                        f"{where}.ports[{j}].hostPort",
                    )


def container_fields(spec: dict[str, Any], c: dict[str, Any]) -> dict[str, Any]:
    """The ``ContainerPlan`` fields for ``c``'s security settings (the container's win).

    Call :func:`check_pod` first: this assumes the pod passed it.
    """
    pod = spec.get("securityContext") or {}
    own = c.get("securityContext") or {}

    def pick(key: str) -> Any:
        return own[key] if own.get(key) is not None else pod.get(key)

    groups: list[int] = [int(g) for g in pod.get("supplementalGroups") or []]
    if pod.get("fsGroup") is not None:
        groups.append(int(pod["fsGroup"]))
    caps = own.get("capabilities") or {}
    add = {_cap(n) for n in caps.get("add") or []}
    drop_names = [str(n).upper().removeprefix("CAP_") for n in caps.get("drop") or []]
    drop = set(CAPABILITIES.values()) if "ALL" in drop_names else {_cap(n) for n in drop_names}
    if own.get("privileged") is False:  # a cluster's non-privileged container: its default set
        drop |= set(CAPABILITIES.values()) - RUNTIME_DEFAULT_CAPABILITIES
    uid, gid = pick("runAsUser"), pick("runAsGroup")
    return {
        "run_as_user": None if uid is None else int(uid),
        "run_as_group": None if gid is None else int(gid),
        "supplemental_groups": tuple(dict.fromkeys(groups)) if groups else None,
        "run_as_non_root": bool(pick("runAsNonRoot")),
        "read_only_root": bool(own.get("readOnlyRootFilesystem")),
        "no_new_privs": own.get("allowPrivilegeEscalation") is False,
        "drop_caps": tuple(sorted(drop - add)),
    }


def _cap(name: object) -> int:
    key = str(name).upper().removeprefix("CAP_")
    if key not in CAPABILITIES:
        raise SpecError(
            f"unknown capability {name!r}",
            field="securityContext.capabilities",
            hint="use names such as NET_ADMIN or ALL",
        )
    return CAPABILITIES[key]


def fs_group(spec: dict[str, Any]) -> int | None:
    value = (spec.get("securityContext") or {}).get("fsGroup")
    return None if value is None else int(value)


def host_path_warnings(spec: dict[str, Any]) -> list[str]:
    """One line per hostPath volume of ``/`` or a system directory that a container can write."""
    writable: dict[str, list[str]] = {}
    for key in ("initContainers", "containers"):
        for c in spec.get(key) or []:
            for m in c.get("volumeMounts") or []:
                if not m.get("readOnly"):
                    writable.setdefault(str(m.get("name")), []).append(str(c.get("name")))
    out = []
    for i, v in enumerate(spec.get("volumes") or []):
        path = str((v.get("hostPath") or {}).get("path") or "")
        if not path or v.get("name") not in writable:
            continue
        norm = "/" + path.strip("/")
        top = norm.split("/")[1]
        if (
            norm == "/"
            or top in ("lib", "lib32", "lib64", "libx32")
            or any(norm == d or norm.startswith(d + "/") for d in SYSTEM_DIRS)
        ):
            who = ", ".join(sorted(set(writable[str(v["name"])])))
            out.append(
                f"spec.volumes[{i}].hostPath {path} is a system directory of this machine,"
                f" mounted read-write into {who} as root; add readOnly: true to the"
                " volumeMount unless the task must change it"
            )
    return out
