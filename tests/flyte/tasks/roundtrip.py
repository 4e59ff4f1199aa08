"""podtask tasks covering every type, for the Flyte data-protocol round trip."""

from __future__ import annotations

import datetime
import pathlib
import shutil
import tempfile
from typing import NamedTuple

import podtask
from podtask.sdk.tasks import inputs, outputs, python_task
from podtask.sdk.types import Types


class Everything(NamedTuple):
    i_out: int
    f_out: float
    s_out: str
    b_out: bool
    dt_out: datetime.datetime
    td_out: datetime.timedelta
    li_out: list[int]
    nested_out: list[list[str]]
    d_out: dict
    blob_out: pathlib.Path
    n_out: int


@podtask.task
def typed_roundtrip(
    i: int,
    f: float,
    s: str,
    b: bool,
    dt: datetime.datetime,
    td: datetime.timedelta,
    li: list[int],
    nested: list[list[str]],
    d: dict,
    blob: pathlib.Path,
    n: int = 41,
) -> Everything:
    out = pathlib.Path(tempfile.mkdtemp()) / "upper.txt"
    out.write_text(blob.read_text().upper())
    return Everything(
        i + 1,
        f * 2,
        s + "!",
        not b,
        dt + datetime.timedelta(days=1),
        td * 2,
        [*li, 99],
        [list(reversed(x)) for x in nested],
        {**d, "seen": True},
        out,
        n + 1,
    )


@inputs(
    g=Types.Generic,
    c=Types.CSV,
    bl=Types.Blob,
    fl=Types.List(Types.Float),
    when=Types.Datetime,
    gap=Types.Timedelta,
    flag=Types.Boolean,
    word=Types.String,
    k=Types.Integer,
)
@outputs(g2=Types.Generic, c2=Types.CSV, total=Types.Float, summary=Types.String)
@python_task
def legacy_roundtrip(wf_params, g, c, bl, fl, when, gap, flag, word, k, g2, c2, total, summary):
    wf_params.logger.info("legacy round trip")
    rows = c.read_text().splitlines()
    out = pathlib.Path(tempfile.mkdtemp()) / "more.csv"
    out.write_text("\n".join([*rows, f"{k},{word}"]) + "\n")
    g2.set({"keys": sorted(g), "blob": bl.read_text()})
    c2.set(out)
    total.set(sum(fl))
    summary.set(f"{word} {flag} {when.isoformat()} {gap.total_seconds()}")


@podtask.task
def fails(x: int) -> int:
    raise ValueError(f"boom {x}")


class Trees(NamedTuple):
    merged: podtask.Directory
    copies: list[podtask.Directory]
    sizes: list[pathlib.Path]


@podtask.task
def dir_roundtrip(
    src: podtask.Directory, extras: list[pathlib.Path], more: list[podtask.Directory]
) -> Trees:
    """``src``'s tree plus ``extras`` in one directory; a copy of each of ``more``."""
    assert isinstance(src, podtask.Directory), type(src)
    base = pathlib.Path(tempfile.mkdtemp())
    merged = base / "merged"
    shutil.copytree(src, merged)
    for f in extras:
        (merged / "extras").mkdir(exist_ok=True)
        shutil.copyfile(f, merged / "extras" / f.name)
    copies = []
    for i, d in enumerate(more):
        copies.append(pathlib.Path(shutil.copytree(d, base / f"copy{i}")))
        (copies[-1] / "seen.txt").write_text(str(i))
    sizes = []
    for f in sorted(p for p in merged.rglob("*") if p.is_file()):
        size = base / f"{f.name}.size"
        size.write_text(str(f.stat().st_size))
        sizes.append(size)
    return Trees(podtask.Directory(merged), [podtask.Directory(c) for c in copies], sizes)
