"""The in-container side of remote storage: inputs and code in, outputs and errors out.

``podtask.entrypoint.main`` uses it when ``--inputs`` or ``--output-prefix``
is an fsspec URL or ``$PODTASK_CODE_URL`` names a code bundle: ``prepare``
makes local stand-ins, ``fetch`` downloads the inputs and unpacks the bundle
onto ``sys.path`` *before* the task module is imported, and ``publish``
uploads the error document, blobs and ``outputs.json`` (last: its presence
means "all of it is there").  Blob paths in the outputs are rewritten to the
storage URL so the client can map them to its own copy.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from podtask._contract import (
    BLOBS_DIR,
    ERROR_FILE,
    INPUTS_FILE,
    OUTPUTS_FILE,
)
from podtask._storage.remote import RemoteStore, is_url, unpack_code_bundle

CONNECT_PATIENCE = 10.0  # seconds a refused connection to the storage is retried


@dataclass
class RemoteIO:
    """Local stand-ins for remote inputs/outputs, and how to publish the results."""

    inputs: str
    output_prefix: str
    remote_prefix: str | None = None
    scratch: Path | None = None
    code_dirs: list[str] = field(default_factory=list)
    code_url: str | None = None

    @classmethod
    def prepare(cls, inputs: str, output_prefix: str, code_url: str | None) -> RemoteIO:
        """Scratch directories for the run; nothing is fetched yet (see ``fetch``)."""
        scratch = Path(tempfile.mkdtemp(prefix="podtask-io-"))
        io = cls(inputs, output_prefix, scratch=scratch, code_url=code_url)
        if is_url(output_prefix):
            io.remote_prefix = output_prefix.rstrip("/")
            io.output_prefix = str(scratch / "outputs")
            Path(io.output_prefix).mkdir()
        return io

    def fetch(self) -> None:
        """Download the code bundle (onto sys.path) and the inputs; errors name the URL."""
        assert self.scratch is not None
        if self.code_url:
            code_dir = self.scratch / "code"
            unpack_code_bundle(_download(self.code_url, "code bundle"), code_dir)
            sys.path.insert(0, str(code_dir))
            self.code_dirs.append(str(code_dir))
        if is_url(self.inputs):
            local = self.scratch / INPUTS_FILE
            local.write_bytes(_download(self.inputs, "inputs"))
            self.inputs = str(local)

    def publish(self) -> None:
        """Upload what the task left in the local output prefix; outputs.json last."""
        if self.remote_prefix is None:
            return
        store = RemoteStore(self.remote_prefix)
        local = Path(self.output_prefix)
        error = local / ERROR_FILE
        if error.is_file():
            store.put_bytes(ERROR_FILE, error.read_bytes())
        blobs = local / BLOBS_DIR
        if blobs.is_dir():
            store.put_tree(blobs, BLOBS_DIR)
        outputs = local / OUTPUTS_FILE
        if outputs.is_file():
            text = outputs.read_text().replace(str(local), self.remote_prefix)
            store.put_bytes(OUTPUTS_FILE, text.encode())

    def close(self) -> None:
        if self.scratch is not None:
            shutil.rmtree(self.scratch, ignore_errors=True)


def _download(url: str, what: str) -> bytes:
    """The bytes at ``url``; a refused connection is tried again for a while, since a proxy
    sidecar the storage is reached through may start listening after the primary starts."""
    store, _, name = url.rpartition("/")
    deadline = time.monotonic() + CONNECT_PATIENCE
    delay = 0.1
    while True:
        try:
            data = RemoteStore(store).get_bytes(name)
            break
        except Exception as exc:
            if _refused(exc) and time.monotonic() + delay < deadline:
                time.sleep(delay)
                delay = min(1.0, delay * 2)
                continue
            raise FetchFailed(f"cannot fetch the task's {what} from {url}: {exc}") from exc
    if data is None:
        raise FetchFailed(f"cannot fetch the task's {what}: {url} does not exist")
    return data


def _refused(exc: BaseException | None) -> bool:
    while exc is not None:
        if isinstance(exc, ConnectionRefusedError):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


class FetchFailed(Exception):
    """The task's inputs or code could not be downloaded (the message names the URL)."""


def main(argv: list[str] | None = None) -> int:
    """``python -m podtask.entrypoint.remote``: the entrypoint, which understands URLs itself.

    Kept for pods created by earlier podtask versions; the order of fetch, run,
    publish and stopping managed sidecars is the one of ``podtask.entrypoint.main``.
    """
    from podtask.entrypoint import main as entrypoint_main

    return entrypoint_main(sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    sys.exit(main())
