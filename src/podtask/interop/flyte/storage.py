"""Read and write the files of Flyte's protocol: local paths or fsspec URLs.

Propeller hands the primary URLs (``s3://...``, ``gs://...``) or, on a
sandbox, paths; both go through here so the data protocol never cares which.
Local writes are atomic (a reader never sees half of ``outputs.pb``).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from podtask._storage import write_atomic
from podtask._storage.remote import RemoteStore, is_url


def _split(url: str) -> tuple[RemoteStore, str]:
    store, _, name = url.rstrip("/").rpartition("/")
    return RemoteStore(store), name


def read_bytes(location: str) -> bytes:
    """The bytes at ``location``; FileNotFoundError naming it when there are none."""
    if is_url(location):
        store, name = _split(location)
        data = store.get_bytes(name)
        if data is None:
            raise FileNotFoundError(f"{location} does not exist")
        return data
    return Path(location).read_bytes()


def write_bytes(location: str, data: bytes) -> None:
    if is_url(location):
        store, name = _split(location)
        store.put_bytes(name, data)
    else:
        Path(location).parent.mkdir(parents=True, exist_ok=True)
        write_atomic(location, data)


def download_tree(location: str, dest: Path) -> None:
    """Every file under the URL ``location`` into ``dest`` (relative paths kept)."""
    store, name = _split(location)
    dest.mkdir(parents=True, exist_ok=True)
    store.get_tree(name, dest)


def upload_tree(src: Path, location: str) -> None:
    """Every file under ``src`` to ``location``/..., as flytekit uploads a directory.

    Locally the tree is copied beside its destination and renamed into place,
    so ``location`` is either absent or complete.
    """
    if is_url(location):
        store, name = _split(location)
        store.put_tree(src, name)
        return
    dest = Path(location)
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    try:
        shutil.copytree(src, staging / "tree")
        os.rename(staging / "tree", dest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def join(prefix: str, *parts: str) -> str:
    return "/".join([prefix.rstrip("/"), *parts])
