"""``podtask ui``: serve the run records to a browser (the server is imported only here)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from podtask._errors import SpecError
from podtask.cli.common import EXIT_INTERRUPTED, err, handle_errors, was_interrupted

if TYPE_CHECKING:
    from podtask.ui.server import UiServer

DEFAULT_PORT = 8470
PORT_TRIES = 20


@click.command("ui")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=None,
    help=f"Port to listen on (default {DEFAULT_PORT}, or the next free one; 0: any).",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option(
    "--allow-remote",
    is_flag=True,
    help="Allow a --host other than loopback (anyone who reaches it with the token sees the runs).",
)
@click.option("--open", "open_browser", is_flag=True, help="Open the page in a web browser.")
@handle_errors
def ui_command(port: int | None, host: str, allow_remote: bool, open_browser: bool) -> None:
    """See your runs in a browser: the runs list, timelines, logs (live), errors, pods."""
    import signal

    from podtask._storage import podtask_home
    from podtask.ui.security import is_loopback, new_token

    def _terminate(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    # SIGTERM stops the server as Ctrl-C does (from here on, so no window kills it uncleanly).
    signal.signal(signal.SIGTERM, _terminate)
    bare = host.strip("[]")
    if not is_loopback(bare) and not allow_remote:
        raise SpecError(
            f"{host!r} is not a loopback address, so other machines could reach the runs",
            field="--host",
            hint="add --allow-remote to mean it, or bind 127.0.0.1 and use an SSH tunnel",
        )
    home = podtask_home()
    server = _bind(bare, port, home=home, token=new_token(), remote=not is_loopback(bare))

    import threading

    worker = threading.Thread(target=server.serve_forever, name="podtask-ui", daemon=True)
    try:
        if not is_loopback(bare):
            err(
                f"warning: podtask ui listens on {host}, beyond this machine: anyone who can "
                "reach it and has the URL's token can read every run's logs, inputs and outputs"
            )
        worker.start()
        click.echo(f"podtask ui: the runs in {home}")
        click.echo(f"  {server.url}")
        click.echo("Ctrl-C stops it.")
        if open_browser:
            import webbrowser

            webbrowser.open(server.url)
        while worker.is_alive():
            worker.join(0.5)
    except KeyboardInterrupt:
        pass  # the way to stop it: the server stops below
    finally:
        server.stop()
    err("podtask ui: stopped")
    if was_interrupted():  # Ctrl-C, not SIGTERM: the documented 130, as for every command
        sys.exit(EXIT_INTERRUPTED)


def _bind(host: str, port: int | None, *, home: Path, token: str, remote: bool) -> UiServer:
    """The server on ``port``, or without one given, on the first free port from the default."""
    from podtask.ui.server import UiServer

    candidates = [port] if port is not None else range(DEFAULT_PORT, DEFAULT_PORT + PORT_TRIES)
    last: OSError | None = None
    for candidate in candidates:
        try:
            return UiServer((host, candidate), home=home, token=token, remote_allowed=remote)
        except OSError as exc:
            last = exc
    raise SpecError(
        f"cannot listen on {host} port {candidates[0]}"
        + ("" if port is not None else f" to {candidates[-1]}")
        + f": {last.strerror if last else 'unknown error'}",
        field="--port",
        hint="pick another port with --port N (0 picks any free one)",
    )


COMMANDS: list[click.Command] = [ui_command]
