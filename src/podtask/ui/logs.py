"""Container logs for the page, in pages: a 100 MB log is never read whole.

A page is at most ``PAGE_BYTES`` and starts and ends on line boundaries
(unless one line is longer than a page), so a multi-byte character or a line
is never cut in two across pages. Offsets are byte offsets in the log file;
the page asks for the page before or after the ones it holds.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PAGE_BYTES = 256 * 1024
SEARCH_BLOCK = 4 * 1024 * 1024
SEARCH_LIMIT = 500
LINE_SHOWN = 400


@dataclass(frozen=True)
class Page:
    start: int
    end: int
    size: int
    text: str

    def to_json(self, container: str) -> dict[str, Any]:
        return {
            "container": container,
            "start": self.start,
            "end": self.end,
            "size": self.size,
            "text": self.text,
        }


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def page_before(path: Path, offset: int | None, limit: int = PAGE_BYTES) -> Page:
    """The page ending at ``offset`` (default: the end of the log), starting at a line."""
    size = _size(path)
    end = size if offset is None else max(0, min(offset, size))
    start = max(0, end - limit)
    if start == end:
        return Page(start, end, size, "")
    with path.open("rb") as f:
        f.seek(start)
        data = f.read(end - start)
    if start > 0:
        cut = data.find(b"\n")
        if 0 <= cut < len(data) - 1:
            data = data[cut + 1 :]
            start += cut + 1
    return Page(start, start + len(data), size, data.decode("utf-8", "replace"))


def page_after(
    path: Path, offset: int, limit: int = PAGE_BYTES, *, whole_lines: bool = True
) -> Page:
    """The page starting at ``offset``, ending after its last complete line.

    A trailing partial line is held back (the writer is still writing it)
    unless ``whole_lines`` is false or one line fills the whole page.
    """
    size = _size(path)
    start = max(0, min(offset, size))
    if start >= size:
        return Page(start, start, size, "")
    with path.open("rb") as f:
        f.seek(start)
        data = f.read(min(limit, size - start))
    if whole_lines and not data.endswith(b"\n"):
        cut = data.rfind(b"\n")
        if cut >= 0:
            data = data[: cut + 1]
        elif len(data) < limit:
            data = b""
    return Page(start, start + len(data), size, data.decode("utf-8", "replace"))


def search(path: Path, query: str, limit: int = SEARCH_LIMIT) -> dict[str, Any]:
    """Lines holding ``query`` (case-insensitive), scanned in blocks: offsets, line numbers, text.

    Reading in fixed blocks keeps memory flat for any log size; a line that
    straddles two blocks is carried into the next one.
    """
    needle = query.encode().lower()
    matches: list[dict[str, Any]] = []
    if not needle:
        return {"query": query, "matches": matches, "truncated": False}
    line_no = 1
    base = 0
    carry = b""
    truncated = False
    try:
        f = path.open("rb")
    except FileNotFoundError:
        return {"query": query, "matches": matches, "truncated": False}
    with f:
        while True:
            block = f.read(SEARCH_BLOCK)
            data = carry + block
            if not data:
                break
            cut = data.rfind(b"\n") + 1 if block else len(data)
            if cut == 0:
                carry = data
                continue
            body, carry = data[:cut], data[cut:]
            lowered = body.lower()
            pos = lowered.find(needle)
            counted = 0
            while pos >= 0:
                line_start = body.rfind(b"\n", 0, pos) + 1
                line_end = body.find(b"\n", pos)
                line_end = len(body) if line_end < 0 else line_end
                line_no += body.count(b"\n", counted, line_start)
                counted = line_start
                matches.append(
                    {
                        "offset": base + line_start,
                        "line": line_no,
                        "text": body[line_start:line_end][:LINE_SHOWN].decode("utf-8", "replace"),
                    }
                )
                if len(matches) >= limit:
                    truncated = True
                    break
                pos = lowered.find(needle, line_end)
            if truncated:
                break
            line_no += body.count(b"\n", counted)
            base += len(body)
            if not block:
                break
    return {"query": query, "matches": matches, "truncated": truncated}


def log_sizes(logs_dir: Path) -> dict[str, int]:
    """Every container log in the run and its size, by container name."""
    out: dict[str, int] = {}
    try:
        entries = list(os.scandir(logs_dir))
    except FileNotFoundError:
        return out
    for entry in sorted(entries, key=lambda e: e.name):
        if entry.name.endswith(".log") and entry.is_file():
            out[entry.name[: -len(".log")]] = entry.stat().st_size
    return out
