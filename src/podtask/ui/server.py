"""The ``podtask ui`` web server: the standard library's threaded HTTP server, and SSE.

Why no web framework: the page needs a dozen read-only routes and one push
channel, which ``http.server`` with a thread per connection and server-sent
events serve as well, with nothing to install and nothing for other commands
to import. Each live page holds one SSE connection; its thread watches the
run database (SQLite's ``data_version``, a cheap pragma) and the run's files
four times a second and pushes only what changed, so the browser never polls.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from podtask._errors import PodtaskError, SpecError
from podtask._storage import TERMINAL_PHASES, RunDir, RunStore
from podtask.ui import logs
from podtask.ui.lanes import build_timeline, read_pod
from podtask.ui.query import PAGE, ReadOnlyRuns, RunFilter
from podtask.ui.security import host_ok, token_ok

TICK = 0.25  # how often a live connection looks for changes, in seconds
HEARTBEAT = 10.0  # an SSE comment this often finds clients that went away
REAP_EVERY = 2.0  # how often runs whose podtask died are marked LOST
ASSETS = {
    "app.js": "text/javascript; charset=utf-8",
    "app.css": "text/css; charset=utf-8",
    "favicon.svg": "image/svg+xml",
}
# What a live connection sends each tick: (event, data) pairs, or None when it is done.
Changes = Callable[[], "list[tuple[str, Any]] | None"]
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",  # the token is in the URL: never hand it on
    "Cache-Control": "no-store",
}


class UiServer(ThreadingHTTPServer):
    """Serves one ``$PODTASK_HOME`` to whoever holds ``token``."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        address: tuple[str, int],
        *,
        home: Path,
        token: str,
        remote_allowed: bool = False,
    ) -> None:
        if ":" in address[0]:
            import socket

            self.address_family = socket.AF_INET6
        super().__init__(address, Handler)
        self.home = home
        self.token = token
        self.remote_allowed = remote_allowed
        self.stopping = threading.Event()
        self._store: RunStore | None = None
        self._store_lock = threading.Lock()
        self._reaped_at = 0.0

    def store(self) -> RunStore:
        with self._store_lock:
            if self._store is None:
                self._store = RunStore.in_home(self.home)
            return self._store

    def reap(self) -> None:
        """Mark runs whose podtask died as LOST (as ``podtask runs`` does), at most every 2 s."""
        now = time.monotonic()
        if now - self._reaped_at < REAP_EVERY or not (self.home / "podtask.db").exists():
            return
        self._reaped_at = now
        self.store().reap_lost()

    def stop(self) -> None:
        """End live connections and the server; safe to call from any thread but the server's."""
        self.stopping.set()
        self.shutdown()
        self.server_close()
        with self._store_lock:
            if self._store is not None:
                self._store.close()

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        name = host.decode() if isinstance(host, bytes) else str(host)
        shown = f"[{name}]" if ":" in name else name
        return f"http://{shown}:{port}/?token={self.token}"


def run_detail(server: UiServer, run_id: str) -> dict[str, Any]:
    """Everything the run page shows, as JSON, from the record and the run directory."""
    record = server.store().get(run_id)
    rd = RunDir.open(server.home, record.run_id)
    events = rd.read_events()
    pod = read_pod(rd)
    timeline = build_timeline(record, events, pod)
    try:
        pod_text = rd.pod_yaml.read_text()
    except OSError:
        pod_text = None
    inputs = None
    with contextlib.suppress(OSError, ValueError):
        inputs = json.loads(rd.inputs_json.read_text())
    outputs = json.loads(record.outputs_json) if record.outputs_json else None
    end = next((e for e in reversed(events) if e.get("event") == "end"), None)
    return {
        "run": {
            "run_id": record.run_id,
            "task": record.task,
            "source": record.source,
            "engine": record.engine,
            "phase": record.phase,
            "reason": record.reason,
            "message": record.message,
            "created_at": record.created_at,
            "updated_at": record.updated_at,
            "ended_at": record.ended_at,
            "attempts": record.attempts,
            "exit_code": record.exit_code,
            "terminal": record.phase in TERMINAL_PHASES,
        },
        "inputs": inputs,
        "outputs": outputs,
        "error": rd.read_error() if record.phase != "SUCCEEDED" else None,
        "sidecar_issues": (end or {}).get("sidecar_issues") or [],
        "events": events,
        "timeline": timeline.to_json(),
        "pod_yaml": pod_text,
        "logs": logs.log_sizes(rd.logs_dir),
    }


def _run_filter(qs: dict[str, list[str]]) -> RunFilter:
    def one(name: str) -> str | None:
        value = qs.get(name, [""])[0].strip()
        return value or None

    before = None
    if one("before_at") and one("before_id"):
        try:
            before = (float(one("before_at") or 0), str(one("before_id")))
        except ValueError as exc:
            raise SpecError("must be a number", field="before_at") from exc
    try:
        limit = min(max(int(one("limit") or PAGE), 1), 1000)
    except ValueError as exc:
        raise SpecError("must be a whole number", field="limit") from exc
    return RunFilter(
        phase=one("phase"), engine=one("engine"), task=one("task"), before=before, limit=limit
    )


class Handler(BaseHTTPRequestHandler):
    """One request: check Host and token, then route (read-only: GET only)."""

    server: UiServer
    server_version = "podtask-ui"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: a live page makes many requests; the terminal keeps only the URL."""

    # -- responses ----------------------------------------------------------

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in SECURITY_HEADERS.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, data: Any, status: int = 200) -> None:
        body = json.dumps(data, default=str, separators=(",", ":")).encode()
        self._send(status, body, "application/json")

    def _refuse(self, status: int, why: str) -> None:
        self._send(status, f"{status}: {why}\n".encode(), "text/plain; charset=utf-8")

    # -- routing ------------------------------------------------------------

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        qs = parse_qs(url.query)
        if not host_ok(self.headers.get("Host"), remote_allowed=self.server.remote_allowed):
            self._refuse(403, "this server answers only requests to a loopback host name")
            return
        if not token_ok(qs.get("token", [None])[0], self.server.token):
            self._refuse(403, "a valid token is required: open the URL that `podtask ui` printed")
            return
        parts = [unquote(p) for p in url.path.split("/") if p]
        try:
            self._route(parts, qs)
        except SpecError as exc:
            self._json({"error": str(exc)}, 404 if "unknown run" in str(exc) else 400)
        except PodtaskError as exc:
            self._json({"error": str(exc)}, 500)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the browser went away

    def _route(self, parts: list[str], qs: dict[str, list[str]]) -> None:
        match parts:
            case [] | ["run", _]:
                self._index()
            case ["static", name] if name in ASSETS:
                body = resources.files("podtask.ui").joinpath("static").joinpath(name).read_bytes()
                self._send(200, body, ASSETS[name])
            case ["api", "runs"]:
                self.server.reap()
                ro = ReadOnlyRuns(self.server.home)
                try:
                    self._json(ro.runs(_run_filter(qs)))
                finally:
                    ro.close()
            case ["api", "runs", run_id]:
                self._json(run_detail(self.server, run_id))
            case ["api", "runs", run_id, "logs", container]:
                self._log_page(run_id, container, qs)
            case ["api", "runs", run_id, "logs", container, "search"]:
                path = self._log_path(run_id, container)
                self._json(logs.search(path, qs.get("q", [""])[0]))
            case ["api", "stream", "runs"]:
                self._stream(self._runs_changes)
            case ["api", "stream", "run", run_id]:
                offsets = {
                    k[4:]: int(v[0])
                    for k, v in qs.items()
                    if k.startswith("log.") and v[0].isdigit()
                }
                self._stream(lambda ro: self._run_changes(run_id, offsets, ro))
            case _:
                self._refuse(404, "no such page")

    def _index(self) -> None:
        html = resources.files("podtask.ui").joinpath("static").joinpath("index.html").read_text()
        html = html.replace("__TOKEN__", self.server.token)
        self._send(200, html.encode(), "text/html; charset=utf-8")

    def _log_path(self, run_id: str, container: str) -> Path:
        record = self.server.store().get(run_id)
        return RunDir.open(self.server.home, record.run_id).log_path(container)

    def _log_page(self, run_id: str, container: str, qs: dict[str, list[str]]) -> None:
        path = self._log_path(run_id, container)
        try:
            if "after" in qs:
                page = logs.page_after(path, int(qs["after"][0]), whole_lines=False)
            else:
                before = int(qs["before"][0]) if "before" in qs else None
                page = logs.page_before(path, before)
        except ValueError as exc:
            raise SpecError("must be a byte offset", field="before/after") from exc
        self._json(page.to_json(container))

    # -- server-sent events -------------------------------------------------

    def _stream(self, watch: Callable[[ReadOnlyRuns], Changes]) -> None:
        """Send what ``watch(db)()`` returns each tick until it returns None or the client leaves.

        ``db`` is this connection's own read-only view of the run database,
        closed when the stream ends.
        """
        ro = ReadOnlyRuns(self.server.home)
        try:
            changes = watch(ro)
            self._pump(changes)
        finally:
            ro.close()

    def _pump(self, changes: Changes) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        for name, value in SECURITY_HEADERS.items():
            self.send_header(name, value)
        self.end_headers()
        quiet_since = time.monotonic()
        stopping = self.server.stopping
        try:
            while not stopping.is_set():
                batch = changes()
                if batch is None:
                    self.wfile.write(b"event: done\ndata: {}\n\n")
                    self.wfile.flush()
                    return
                for event, data in batch:
                    payload = json.dumps(data, default=str, separators=(",", ":"))
                    self.wfile.write(f"event: {event}\ndata: {payload}\n\n".encode())
                if batch:
                    quiet_since = time.monotonic()
                elif time.monotonic() - quiet_since > HEARTBEAT:
                    self.wfile.write(b": ping\n\n")
                    quiet_since = time.monotonic()
                self.wfile.flush()
                stopping.wait(TICK)
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            return

    def _runs_changes(self, ro: ReadOnlyRuns) -> Changes:
        seen: list[int] = []

        def changes() -> list[tuple[str, Any]]:
            self.server.reap()
            version = ro.data_version()
            if seen and seen[0] == version:
                return []
            first = not seen
            seen[:] = [version]
            return [] if first else [("changed", {"version": version})]

        return changes

    def _run_changes(self, run_id: str, offsets: dict[str, int], ro: ReadOnlyRuns) -> Changes:
        record = self.server.store().get(run_id)
        rd = RunDir.open(self.server.home, record.run_id)
        state: dict[str, Any] = {"version": None, "digest": None, "done": False, "terminal": False}

        def changes() -> list[tuple[str, Any]] | None:
            if state["done"]:
                return None
            out: list[tuple[str, Any]] = []
            version = (ro.data_version(), _size(rd.events_jsonl))
            if version != state["version"]:
                state["version"] = version
                detail = run_detail(self.server, record.run_id)
                state["terminal"] = bool(detail["run"]["terminal"])
                digest = json.dumps(detail, sort_keys=True, default=str)
                if digest != state["digest"]:
                    state["digest"] = digest
                    out.append(("run", detail))
            terminal = bool(state["terminal"])
            for name, size in logs.log_sizes(rd.logs_dir).items():
                offset = offsets.get(name)
                if offset is None:
                    # A log the page has not seen: start with its tail, as the page would.
                    page = logs.page_before(rd.log_path(name), None)
                else:
                    if size <= offset:
                        continue
                    page = logs.page_after(rd.log_path(name), offset, whole_lines=not terminal)
                if page.end > page.start or offset is None:
                    offsets[name] = page.end
                    out.append(("log", page.to_json(name)))
            if terminal and all(
                offsets.get(n, 0) >= s for n, s in logs.log_sizes(rd.logs_dir).items()
            ):
                state["done"] = True  # the last batch goes out, then "done"
            return out

        return changes


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0
