"""``python -m podtask.testing.apiserver --kubeconfig FILE [--port N] [--version v1.37.0]``.

``--differences`` prints what it still does differently from a real cluster.

Serves on 127.0.0.1 until Ctrl-C or SIGTERM, then kills every pod it runs
and exits; the kubeconfig it writes has one context, ``podtask-test``.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from types import FrameType


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m podtask.testing.apiserver",
        description="A test Kubernetes API server for Pods; pods run on podtask's local engine.",
    )
    p.add_argument("--kubeconfig", help="write a kubeconfig for this server here (required)")
    p.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: any free)")
    p.add_argument(
        "--version",
        default=None,
        help="Kubernetes version to emulate: reported, and validated as that version does"
        " (default: the newest whose schema kubernetes-validate bundles)",
    )
    p.add_argument("--state-dir", default=None, help="pod logs go here (default: a temp dir)")
    p.add_argument(
        "--namespace", action="append", default=[], help="create this namespace too (repeatable)"
    )
    p.add_argument(
        "--no-schema-validation",
        action="store_true",
        help="skip the check of created pods against the Kubernetes schema",
    )
    p.add_argument(
        "--no-host-files",
        action="store_true",
        help="do not say (in API discovery) that pods share this machine's files, as a real"
        " cluster does not: clients then have to ship code and data as to a real cluster",
    )
    p.add_argument(
        "--differences",
        action="store_true",
        help="print what this server still does differently from a real cluster, and exit",
    )
    args = p.parse_args(argv)
    if args.differences:
        from podtask.testing.apiserver.differences import render

        return _print(render())
    if not args.kubeconfig:
        p.error("--kubeconfig FILE is required (where to write this server's kubeconfig)")

    from podtask.testing.apiserver.server import DEFAULT_NAMESPACES, ApiServer

    try:
        srv = ApiServer(
            port=args.port,
            version=args.version,
            state_dir=args.state_dir,
            kubeconfig=args.kubeconfig,
            namespaces=tuple(dict.fromkeys([*DEFAULT_NAMESPACES, *args.namespace])),
            schema_validation=not args.no_schema_validation,
            host_files=not args.no_host_files,
        )
    except (OSError, ValueError) as exc:
        print(f"podtask apiserver: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    srv.serve_in_background()
    print(
        f"podtask test API server {srv.version} on {srv.url}; kubeconfig {srv.kubeconfig_path}"
        " (context podtask-test)",
        flush=True,
    )
    try:
        while not stop.wait(0.5):
            pass
    finally:
        srv.stop()
    return 0


def _print(text: str) -> int:
    """Print to stdout; 1, quietly, when the reader left early (``--differences | head``),
    as ``podtask`` itself does: a traceback would be noise about someone else's choice."""
    try:
        print(text, flush=True)
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # the interpreter's last flush must not fail again
        os.close(devnull)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
