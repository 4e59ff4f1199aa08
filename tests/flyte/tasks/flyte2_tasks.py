"""Flyte 2 SDK tasks: an environment whose pod has a sidecar sharing a volume with the primary."""

import asyncio
import os
import shutil
import tempfile
from pathlib import Path

from flyte.io import Dir, File
from kubernetes.client import (
    V1Container,
    V1EmptyDirVolumeSource,
    V1PodSpec,
    V1Volume,
    V1VolumeMount,
)

import flyte

mount = V1VolumeMount(name="shared-data", mount_path="/data")

env = flyte.TaskEnvironment(
    name="sidecars",
    pod_template=flyte.PodTemplate(
        primary_container_name="primary",
        labels={"team": "ml"},
        pod_spec=V1PodSpec(
            containers=[
                V1Container(name="primary", volume_mounts=[mount]),
                V1Container(
                    name="secondary",
                    image="alpine",
                    command=[
                        "/bin/sh",
                        "-c",
                        "echo hi flyte 2 > /data/message.txt; exec sleep 3600",
                    ],
                    volume_mounts=[mount],
                ),
            ],
            volumes=[
                V1Volume(name="shared-data", empty_dir=V1EmptyDirVolumeSource(medium="Memory"))
            ],
        ),
    ),
    resources=flyte.Resources(cpu=("250m", "1"), memory="128Mi"),
    env_vars={"GREETING": "hello"},
)


@env.task(retries=2, timeout=120)
async def read_shared(name: str, times: int = 1) -> str:
    while not os.path.isfile("/data/message.txt"):
        await asyncio.sleep(0.05)
    with open("/data/message.txt") as f:
        return " ".join([f"{os.environ['GREETING']} {name}: {f.read().strip()}"] * times)


@env.task
async def gather(src: Dir, note: File) -> Dir:
    """``src``'s files, ``note`` and the sidecar's message in one new directory."""
    while not os.path.isfile("/data/message.txt"):
        await asyncio.sleep(0.05)
    out = Path(tempfile.mkdtemp()) / "gathered"
    shutil.copytree(await src.download(), out)
    async with note.open("rb") as fh:
        (out / "note.txt").write_bytes(await fh.read())
    shutil.copyfile("/data/message.txt", out / "message.txt")
    return await Dir.from_local(str(out))


@env.task
def listing(d: Dir) -> File:
    """A file naming every file of ``d``, made the sync way (``File.from_local_sync``)."""
    names = sorted(f.name for f in d.walk_sync())
    out = Path(tempfile.mkdtemp()) / "listing.txt"
    out.write_text(",".join(names))
    return File.from_local_sync(str(out))


@env.task
def double(x: int) -> int:
    return 2 * x


named = flyte.TaskEnvironment(name="named", pod_template="cluster-template")


@named.task
def uses_named_template() -> None:
    pass
