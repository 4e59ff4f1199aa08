"""A managed-mode proxy sidecar: the pod reaches its storage only through it.

It listens on the pod's ``127.0.0.1`` at each given port and relays every
connection to ``<socket dir>/tcp-<port>.sock`` (a Unix socket on a hostPath
volume, served on the host by ``relay.py``): network namespaces do not
separate Unix sockets on a shared file system.  On SIGTERM it writes to the
record file whether ``outputs.json`` was already in storage, then exits: the
proof of the entrypoint's order (publish, then stop the sidecars).

Usage: proxy_sidecar.py SOCKET_DIR RECORD_FILE STORAGE_ROOT PORT...
"""

import contextlib
import os
import signal
import socket
import sys
import threading


def pipe(a: socket.socket, b: socket.socket) -> None:
    try:
        while data := a.recv(65536):
            b.sendall(data)
    except OSError:
        pass
    finally:
        for s in (a, b):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
        a.close()  # each socket is ``a`` of exactly one of its two pipes


def serve(port: int, sock_path: str) -> None:
    listener = socket.create_server(("127.0.0.1", port))
    while True:
        client, _ = listener.accept()
        upstream = socket.socket(socket.AF_UNIX)
        upstream.connect(sock_path)
        for a, b in ((client, upstream), (upstream, client)):
            threading.Thread(target=pipe, args=(a, b), daemon=True).start()


def main() -> None:
    sock_dir, record, storage_root, *ports = sys.argv[1:]

    def on_term(_signum: int, _frame: object) -> None:
        present = any("outputs.json" in files for _, _, files in os.walk(storage_root))
        with open(record, "w") as f:
            f.write("outputs-present" if present else "outputs-missing")
        os._exit(0)

    signal.signal(signal.SIGTERM, on_term)
    for port in ports:
        path = os.path.join(sock_dir, f"tcp-{port}.sock")
        threading.Thread(target=serve, args=(int(port), path), daemon=True).start()
    print("proxy up", flush=True)
    while True:
        signal.pause()


if __name__ == "__main__":
    main()
