"""subPath stays inside its volume (CVE-2017-1002101), through the real CLI."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from tests.local.cli_helpers import needs_ns, run_task

from podtask.engines._beneath import EscapeError, open_beneath


@needs_ns
def test_sub_path_symlink_out_of_the_volume_fails_and_writes_nothing_on_the_host(
    tmp_path: Path,
) -> None:
    hostdir = tmp_path / "host-dir"
    hostdir.mkdir()
    rc, doc, err = run_task("sub_path_escape", hostdir=hostdir)
    assert list(hostdir.iterdir()) == [], "the primary wrote through the symlink onto the host"
    assert rc == 1, err
    assert doc["phase"] == "FAILED"
    assert doc["reason"] == "CreateContainerConfigError"
    assert "volumeMount 'data'" in doc["message"] and "/out" in doc["message"]
    assert "subPath 'esc'" in doc["message"]


@needs_ns
def test_sub_path_symlink_inside_the_volume_is_followed(tmp_path: Path) -> None:
    rc, doc, err = run_task("sub_path_inside", hostdir=tmp_path)
    assert rc == 0, err
    assert doc["outputs"] == {"o0": "from the primary"}


def _tree(tmp_path: Path) -> Path:
    root = tmp_path / "vol"
    (root / "a" / "b").mkdir(parents=True)
    (root / "a" / "rel").symlink_to("b")
    (root / "a" / "up").symlink_to("../a/b")
    (root / "abs").symlink_to(str(tmp_path))
    (root / "dotdot").symlink_to("../..")
    return root


@pytest.mark.parametrize("use_openat2", [True, False], ids=["openat2", "walk"])
def test_open_beneath_follows_links_inside_and_refuses_the_way_out(
    tmp_path: Path, use_openat2: bool
) -> None:
    root = _tree(tmp_path)
    for rel in ("a/b", "a/rel", "a/up", "a/b/../b"):
        fd = open_beneath(str(root), rel, use_openat2=use_openat2)
        try:
            assert os.readlink(f"/proc/self/fd/{fd}") == str(root / "a" / "b")
        finally:
            os.close(fd)
    for rel in ("abs", "abs/vol", "dotdot", "..", "a/../../vol"):
        with pytest.raises(EscapeError):
            open_beneath(str(root), rel, use_openat2=use_openat2)
    with pytest.raises(FileNotFoundError):
        open_beneath(str(root), "a/missing", use_openat2=use_openat2)
    fd = open_beneath(str(root), "a/rel/new/deeper", create=True, use_openat2=use_openat2)
    os.close(fd)
    assert (root / "a" / "b" / "new" / "deeper").is_dir()
    with pytest.raises(EscapeError):
        open_beneath(str(root), "abs/created", create=True, use_openat2=use_openat2)
    assert not (tmp_path / "created").exists()
