"""Tasks with directory inputs and outputs (``podtask.Directory``)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import podtask
from podtask import Directory
from podtask.sdk.tasks import inputs, outputs, python_task
from podtask.sdk.types import Types


@podtask.task
def shout_tree(src: Directory, suffix: str = "!") -> Directory:
    """Uppercase every file of ``src`` (subdirectories kept) into a new directory."""
    assert isinstance(src, Directory), type(src)
    out = Path(tempfile.mkdtemp()) / "shouted"
    for f in sorted(p for p in src.rglob("*") if p.is_file()):
        target = out / f.relative_to(src)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(f.read_text().upper() + suffix)
    return Directory(out)


@podtask.task
def count_files(dirs: list[Directory]) -> int:
    return sum(1 for d in dirs for p in d.rglob("*") if p.is_file())


@podtask.task
def not_a_directory() -> Directory:
    f = Path(tempfile.mkdtemp()) / "plain.txt"
    f.write_text("a file, not a directory")
    return Directory(f)


@podtask.task
def linked_tree() -> Directory:
    """A directory whose file is a symlink into a temp dir the container loses."""
    base = Path(tempfile.mkdtemp())
    (base / "data.txt").write_text("the data")
    (base / "out").mkdir()
    (base / "out" / "link.txt").symlink_to(base / "data.txt")
    return Directory(base / "out")


@inputs(src=Types.Directory)
@outputs(listing=Types.String, copy=Types.MultiPartBlob)
@python_task
def legacy_listing(wf_params, src, listing, copy):
    """The seed's style: a directory in, its listing and a copy of it out."""
    names = sorted(p.relative_to(src).as_posix() for p in src.rglob("*") if p.is_file())
    listing.set(",".join(names))
    copy.set(src)


@podtask.task
def read_tree(tree: Directory) -> str:
    return ",".join(
        f"{p.relative_to(tree).as_posix()}={p.read_text()}"
        for p in sorted(tree.rglob("*"))
        if p.is_file()
    )


@podtask.workflow
def shout_and_read(src: Directory) -> str:
    """One node's Directory output is the next node's Directory input."""
    return read_tree(tree=shout_tree(src=src, suffix="?"))
