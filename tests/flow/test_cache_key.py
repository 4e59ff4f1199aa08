"""Cache keys: what makes two node runs the same (pure, no engine)."""

from __future__ import annotations

from pathlib import Path

import podtask
from podtask._flow.cache import cache_key


@podtask.task(cache=True, cache_version="1")
def read(data: Path, scale: int = 1) -> int:
    return len(data.read_bytes()) * scale


def test_blob_inputs_are_keyed_by_content_not_path(tmp_path: Path) -> None:
    one, two = tmp_path / "one.txt", tmp_path / "two.txt"
    one.write_text("same bytes")
    two.write_text("same bytes")
    assert cache_key(read, {"data": str(one), "scale": 1}) == cache_key(
        read, {"data": str(two), "scale": 1}
    )
    before = cache_key(read, {"data": str(one), "scale": 1})
    one.write_text("edited")
    assert cache_key(read, {"data": str(one), "scale": 1}) != before


def test_version_and_values_change_the_key(tmp_path: Path) -> None:
    f = tmp_path / "f"
    f.write_text("x")
    base = cache_key(read, {"data": str(f), "scale": 1})
    assert cache_key(read, {"data": str(f), "scale": 2}) != base
    bumped = podtask.task(cache=True, cache_version="2")(read.fn)
    assert cache_key(bumped, {"data": str(f), "scale": 1}) != base


@podtask.task(cache=True, cache_version="1")
def walk(tree: podtask.Directory) -> int:
    return sum(1 for _ in tree.rglob("*"))


def test_directory_inputs_are_keyed_by_their_files(tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    for d in (one, two):
        (d / "sub").mkdir(parents=True)
        (d / "sub" / "f.txt").write_text("same")
    assert cache_key(walk, {"tree": str(one)}) == cache_key(walk, {"tree": str(two)})
    before = cache_key(walk, {"tree": str(one)})
    (one / "sub" / "f.txt").write_text("edited")
    assert cache_key(walk, {"tree": str(one)}) != before
    edited = cache_key(walk, {"tree": str(one)})
    (one / "sub" / "f.txt").rename(one / "g.txt")  # same bytes, another name
    assert cache_key(walk, {"tree": str(one)}) != edited
