from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from podtask._errors import InfrastructureError
from podtask._storage import podtask_home, read_json, write_atomic, write_json_atomic
from podtask._storage.atomic import TEMP_PREFIX


def _temp_files(directory: Path) -> list[Path]:
    return [p for p in directory.iterdir() if p.name.startswith(TEMP_PREFIX)]


def test_home_is_created_private(home: Path) -> None:
    assert not home.exists()
    assert podtask_home() == home
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    assert podtask_home() == home  # idempotent


def test_home_defaults_to_dot_podtask(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("PODTASK_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert podtask_home() == tmp_path / ".podtask"


def test_write_atomic_bytes_and_str(tmp_path: Path) -> None:
    target = tmp_path / "f.txt"
    write_atomic(target, "héllo")
    assert target.read_text(encoding="utf-8") == "héllo"
    write_atomic(target, b"\x00\x01")
    assert target.read_bytes() == b"\x00\x01"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert _temp_files(tmp_path) == []


def test_write_json_atomic_format(tmp_path: Path) -> None:
    target = tmp_path / "o.json"
    write_json_atomic(target, {"b": 1, "a": [1, 2]})
    text = target.read_text()
    assert text == json.dumps({"a": [1, 2], "b": 1}, indent=2) + "\n"
    assert read_json(target) == {"a": [1, 2], "b": 1}


def test_unencodable_object_keeps_old_file(tmp_path: Path) -> None:
    target = tmp_path / "o.json"
    write_json_atomic(target, {"v": 1})
    with pytest.raises(TypeError):
        write_json_atomic(target, {"v": object()})
    with pytest.raises(ValueError):
        write_json_atomic(target, {"v": float("nan")})
    assert read_json(target) == {"v": 1}
    assert _temp_files(tmp_path) == []


def test_failed_replace_keeps_old_file_and_no_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "o.json"
    write_json_atomic(target, {"v": 1})

    def boom(src: object, dst: object) -> None:
        raise OSError("disk on fire")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk on fire"):
        write_json_atomic(target, {"v": 2})
    assert read_json(target) == {"v": 1}
    assert _temp_files(tmp_path) == []


def test_failed_fsync_cleans_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "new.bin"

    def boom(fd: int) -> None:
        raise OSError("io error")

    monkeypatch.setattr(os, "fsync", boom)
    with pytest.raises(OSError, match="io error"):
        write_atomic(target, b"data")
    assert not target.exists()
    assert _temp_files(tmp_path) == []


def test_read_json_missing_and_corrupt(tmp_path: Path) -> None:
    assert read_json(tmp_path / "nope.json") is None
    bad = tmp_path / "bad.json"
    bad.write_text("{half")
    with pytest.raises(InfrastructureError, match="not valid JSON"):
        read_json(bad)
