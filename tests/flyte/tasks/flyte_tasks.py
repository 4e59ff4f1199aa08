"""flytekit tasks, written as Flyte's docs write them, for `podtask run` / `compile`.

``shared_volume_task`` is the compile-time PodTemplate of Flyte's docs: a
primary and a sidecar sharing an in-memory volume; the sidecar writes a file
and stays up (as a real sidecar does), the primary waits for the file and
returns what it read.  Flyte itself runs only the function body locally.
"""

import os
import time
import typing
from pathlib import Path

from flytekit import PodTemplate, Resources, Secret, task, workflow
from flytekit.types.directory import FlyteDirectory
from flytekit.types.file import FlyteFile
from kubernetes.client import (
    V1Container,
    V1EmptyDirVolumeSource,
    V1PodSpec,
    V1Volume,
    V1VolumeMount,
)

SHARED = "/data"


@task(
    pod_template=PodTemplate(
        primary_container_name="primary",
        labels={"team": "ml"},
        annotations={"example.com/owner": "flyte-user"},
        pod_spec=V1PodSpec(
            containers=[
                V1Container(
                    name="primary",
                    volume_mounts=[V1VolumeMount(name="shared-data", mount_path=SHARED)],
                ),
                V1Container(
                    name="secondary",
                    image="alpine",
                    command=["/bin/sh"],
                    args=["-c", f"echo hi pod world > {SHARED}/message.txt; exec sleep 3600"],
                    volume_mounts=[V1VolumeMount(name="shared-data", mount_path=SHARED)],
                ),
            ],
            volumes=[
                V1Volume(name="shared-data", empty_dir=V1EmptyDirVolumeSource(medium="Memory"))
            ],
        ),
    ),
    requests=Resources(cpu="100m", mem="64Mi"),
    environment={"GREETING": "hello"},
    retries=1,
)
def shared_volume_task(name: str) -> str:
    path = os.path.join(SHARED, "message.txt")
    while not os.path.isfile(path):
        time.sleep(0.05)
    with open(path) as f:
        return f"{os.environ['GREETING']} {name}: {f.read().strip()}"


@task
def plain(a: int, b: int = 2) -> int:
    return a * b


class Report(typing.NamedTuple):
    copy: FlyteFile
    lines: int


@task
def count_lines(src: FlyteFile) -> Report:
    local = Path(src.download())
    out = Path(os.environ.get("TMPDIR", "/tmp")) / f"copy-{os.getpid()}.txt"
    out.write_text(local.read_text())
    return Report(copy=FlyteFile(str(out)), lines=len(local.read_text().splitlines()))


class Catalogue(typing.NamedTuple):
    tree: FlyteDirectory
    names: list[str]


@task
def catalogue(src: FlyteDirectory, notes: list[FlyteFile]) -> Catalogue:
    """A copy of ``src`` with ``notes`` added under notes/ and an index of every file."""
    assert isinstance(src, FlyteDirectory), type(src)
    local = Path(src.download())
    out = Path(os.environ.get("TMPDIR", "/tmp")) / f"catalogue-{os.getpid()}"
    for f in local.rglob("*"):
        if f.is_file():
            (out / f.relative_to(local)).parent.mkdir(parents=True, exist_ok=True)
            (out / f.relative_to(local)).write_bytes(f.read_bytes())
    (out / "notes").mkdir(parents=True, exist_ok=True)
    for note in notes:
        (out / "notes" / Path(note.path).name).write_text(Path(note.download()).read_text())
    names = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    (out / "INDEX").write_text("\n".join(names))
    return Catalogue(tree=FlyteDirectory(str(out)), names=names)


@task(pod_template_name="cluster-template")
def named_template() -> None:
    pass


@workflow
def wf(name: str) -> str:
    return shared_volume_task(name=name)


@task(secret_requests=[Secret(group="db", key="password")])
def needs_secret() -> None:
    pass
