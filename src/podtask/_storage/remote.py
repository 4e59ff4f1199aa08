"""Run storage behind an fsspec URL (``s3://``, ``gs://``, ``file://``) and code bundles.

A pod on a cluster cannot read this machine's run directory, so inputs, the
code bundle, outputs, error documents and logs travel through an object store
both sides can reach.  Layout under ``<storage>/<run_id>/`` mirrors the local
run directory (``inputs.json``, ``outputs/outputs.json``, ``outputs/error.json``,
``outputs/blobs/...``, ``logs/<container>.log``, ``code.zip``) so a run looks
the same wherever it lives.

fsspec is imported only when a URL is used.  The bundle itself (what goes in,
how it is unpacked safely) lives in ``bundle.py``, stdlib only, so that the
entrypoint can unpack it with nothing installed but podtask.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from podtask._errors import EngineUnavailable, InfrastructureError, SpecError
from podtask._storage.bundle import make_code_bundle, unpack_code_bundle

FSSPEC_HINT = "install it with: pip install 'podtask[kubernetes]' (or pip install fsspec)"
CODE_BUNDLE = "code.zip"


def is_url(text: str | None) -> bool:
    """``scheme://...``: storage that needs fsspec (a plain path is the host's file system)."""
    return bool(text) and "://" in str(text)


def scheme(url: str) -> str:
    return url.split("://", 1)[0].lower() if "://" in url else "file"


def _fsspec() -> Any:
    try:
        import fsspec
    except ImportError as exc:
        raise EngineUnavailable(f"storage URLs need fsspec ({FSSPEC_HINT})") from exc
    return fsspec


class RemoteStore:
    """Files under one URL prefix; every failure is an ``InfrastructureError`` naming the URL."""

    def __init__(self, url: str) -> None:
        if not is_url(url):
            raise SpecError(f"not a storage URL: {url!r}", field="--storage", hint="e.g. s3://b/p")
        self.url = url.rstrip("/")
        try:
            self.fs, self.root = _fsspec().core.url_to_fs(self.url)
        except (ImportError, ValueError) as exc:
            raise EngineUnavailable(
                f"cannot use storage {self.url!r}: {exc} (s3:// needs s3fs, gs:// needs gcsfs)"
            ) from exc

    def check_reachable(self) -> None:
        """Refuse a ``file://`` storage whose directory does not exist, before a run starts.

        ``file:///dir`` names a directory the nodes share; writing to it would
        create a missing one anywhere, even on the host's root, so a typo
        would scatter runs where nobody looks.  As ``kubectl cp`` and
        ``aws s3 cp`` refuse a missing destination, so does podtask: the
        user creates the directory (or mounts it).  Object stores are not
        checked: a prefix there exists once something is written under it.
        """
        if scheme(self.url) != "file":
            return
        if not Path(self.root).is_dir():
            raise SpecError(
                f"storage directory {self.root} does not exist (or is not a directory)",
                field="--storage",
                hint=f"create it (mkdir -p {self.root}) on a file system the cluster's "
                "nodes share, or pass another URL",
            )

    def child(self, name: str) -> RemoteStore:
        return RemoteStore(f"{self.url}/{name}")

    def join(self, rel: str) -> str:
        return f"{self.url}/{rel}" if rel else self.url

    def _path(self, rel: str) -> str:
        return f"{self.root.rstrip('/')}/{rel}" if rel else self.root

    def _fail(self, what: str, rel: str, exc: BaseException) -> InfrastructureError:
        return InfrastructureError(f"storage: cannot {what} {self.join(rel)}: {exc}")

    def put_bytes(self, rel: str, data: bytes) -> None:
        path = self._path(rel)
        try:
            parent = path.rsplit("/", 1)[0]
            if parent:
                self.fs.makedirs(parent, exist_ok=True)
            # Write then move: readers never see half a document (local fs and most stores).
            tmp = f"{path}.tmp-{os.getpid()}"
            with self.fs.open(tmp, "wb") as f:
                f.write(data)
            self.fs.mv(tmp, path)
        except Exception as exc:
            raise self._fail("write", rel, exc) from exc

    def get_bytes(self, rel: str) -> bytes | None:
        """The file's bytes, or None when it does not exist."""
        path = self._path(rel)
        try:
            with self.fs.open(path, "rb") as f:
                data: bytes = f.read()
                return data
        except FileNotFoundError:
            return None
        except Exception as exc:
            raise self._fail("read", rel, exc) from exc

    def delete(self, rel: str) -> None:
        try:
            if self.fs.exists(self._path(rel)):
                self.fs.rm(self._path(rel), recursive=True)
        except FileNotFoundError:
            return
        except Exception as exc:
            raise self._fail("delete", rel, exc) from exc

    def put_tree(self, local: Path, rel: str) -> None:
        """Upload every file under ``local`` to ``rel``/..., keeping relative paths."""
        for path in sorted(p for p in local.rglob("*") if p.is_file()):
            self.put_bytes(f"{rel}/{path.relative_to(local).as_posix()}", path.read_bytes())

    def get_tree(self, rel: str, local: Path) -> int:
        """Download every file under ``rel`` into ``local``; returns how many."""
        base = self._path(rel).rstrip("/")
        try:
            if not self.fs.exists(base):
                return 0
            found = [p for p in self.fs.find(base) if not self.fs.isdir(p)]
        except Exception as exc:
            raise self._fail("list", rel, exc) from exc
        for remote in found:
            sub = remote[len(base) :].lstrip("/")
            target = local / sub
            target.parent.mkdir(parents=True, exist_ok=True)
            data = self.get_bytes(f"{rel}/{sub}")
            if data is not None:
                target.write_bytes(data)
        return len(found)


__all__ = [
    "CODE_BUNDLE",
    "RemoteStore",
    "is_url",
    "make_code_bundle",
    "scheme",
    "unpack_code_bundle",
]
