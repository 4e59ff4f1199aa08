"""The in-container side of remote storage: inputs and code in, outputs and errors out.

``python -m podtask.entrypoint.remote`` takes the same arguments as
``python -m podtask.entrypoint``; ``--inputs`` and ``--output-prefix`` may be
fsspec URLs, and ``$PODTASK_CODE_URL`` may name a code bundle.  It downloads
the inputs, unpacks the bundle onto ``sys.path`` *before* the task module is
imported, runs the ordinary entrypoint against local paths, then uploads the
error document, blobs and ``outputs.json`` (last: its presence means "all of
it is there").  Blob paths in the outputs are rewritten to the storage URL so
the client can map them to its own copy.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from podtask._contract import (
    BLOBS_DIR,
    ENV_CODE_URL,
    ERROR_FILE,
    FLAG_INPUTS,
    FLAG_OUTPUT_PREFIX,
    INPUTS_FILE,
    OUTPUTS_FILE,
)
from podtask._storage.remote import RemoteStore, is_url, unpack_code_bundle


@dataclass
class RemoteIO:
    """Local stand-ins for remote inputs/outputs, and how to publish the results."""

    inputs: str
    output_prefix: str
    remote_prefix: str | None = None
    scratch: Path | None = None
    code_dirs: list[str] = field(default_factory=list)

    @classmethod
    def open(cls, inputs: str, output_prefix: str, code_url: str | None) -> RemoteIO:
        if not (is_url(inputs) or is_url(output_prefix) or code_url):
            return cls(inputs, output_prefix)
        scratch = Path(tempfile.mkdtemp(prefix="podtask-io-"))
        io = cls(inputs, output_prefix, scratch=scratch)
        if code_url:
            store, _, name = code_url.rpartition("/")
            data = RemoteStore(store).get_bytes(name)
            if data is None:
                raise FileNotFoundError(f"code bundle {code_url} does not exist")
            code_dir = scratch / "code"
            unpack_code_bundle(data, code_dir)
            sys.path.insert(0, str(code_dir))
            io.code_dirs.append(str(code_dir))
        if is_url(inputs):
            store, _, name = inputs.rpartition("/")
            data = RemoteStore(store).get_bytes(name)
            if data is None:
                raise FileNotFoundError(f"inputs {inputs} do not exist")
            local = scratch / INPUTS_FILE
            local.write_bytes(data)
            io.inputs = str(local)
        if is_url(output_prefix):
            io.remote_prefix = output_prefix.rstrip("/")
            io.output_prefix = str(scratch / "outputs")
            Path(io.output_prefix).mkdir()
        return io

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


def _replace(argv: list[str], flag: str, value: str) -> list[str]:
    out = list(argv)
    for i, arg in enumerate(out):
        if arg == flag and i + 1 < len(out):
            out[i + 1] = value
        elif arg.startswith(flag + "="):
            out[i] = f"{flag}={value}"
    return out


def _value(argv: list[str], flag: str) -> str:
    for i, arg in enumerate(argv):
        if arg == flag and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith(flag + "="):
            return arg.split("=", 1)[1]
    return ""


def main(argv: list[str] | None = None) -> int:
    """Run the entrypoint with remote inputs/outputs/code; returns its exit code."""
    import os

    from podtask.entrypoint import main as entrypoint_main

    args = list(sys.argv[1:] if argv is None else argv)
    # Handled here: an entrypoint that also understands URLs must not fetch them again.
    code_url = os.environ.pop(ENV_CODE_URL, None)
    try:
        io = RemoteIO.open(
            _value(args, FLAG_INPUTS),
            _value(args, FLAG_OUTPUT_PREFIX),
            code_url or None,
        )
    except Exception as exc:  # nothing ran: say why on stderr, where the logs keep it
        print(f"podtask: cannot fetch the task's inputs or code: {exc}", file=sys.stderr)
        return 1
    try:
        local = _replace(
            _replace(args, FLAG_INPUTS, io.inputs), FLAG_OUTPUT_PREFIX, io.output_prefix
        )
        code = entrypoint_main(local)
        try:
            io.publish()
        except Exception as exc:
            print(f"podtask: cannot upload the task's outputs: {exc}", file=sys.stderr)
            return code or 1
        return code
    finally:
        io.close()


if __name__ == "__main__":
    sys.exit(main())
