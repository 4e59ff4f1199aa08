"""Flyte's data protocol through a real entrypoint process, judged by flytekit.

flytekit's TypeEngine encodes the inputs into inputs.pb; `python -m
podtask.entrypoint flyte ...` runs the task in its own process, as propeller
would start it; flytekit decodes outputs.pb, and flyteidl parses error.pb.
"""

from __future__ import annotations

import datetime
import subprocess
import sys
import typing
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip(
    "flytekit", reason="needs flytekit: scripts/test runs tests/flyte in .venv-flyte"
)

from flytekit import FlyteContextManager
from flytekit.core.type_engine import TypeEngine
from flytekit.types.directory import FlyteDirectory
from flytekit.types.file import FlyteFile

from tests.flyte.flytekit_tools import ROOT, make_tree, tree

TASKS = Path(__file__).resolve().parent / "tasks"
CSV = FlyteFile[typing.TypeVar("csv")]
UTC = datetime.timezone.utc


def entrypoint(task: str, inputs: Path, out: Path, raw: Path) -> subprocess.CompletedProcess[str]:
    cmd = [
        sys.executable, "-m", "podtask.entrypoint", "flyte",
        "--task", task if ":" in task else f"roundtrip:{task}",
        "--inputs", str(inputs),
        "--output-prefix", str(out),
        "--raw-output-data-prefix", str(raw),
        "--checkpoint-path", str(out / "checkpoint"),
        "--prev-checkpoint", "",
        "--source-root", str(TASKS),
    ]  # fmt: skip
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=ROOT)


def entrypoint_by_url(task: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """As on a cluster: inputs.pb, the output and raw prefixes all as (file://) URLs."""
    url = f"file://{tmp_path}"
    cmd = [
        sys.executable, "-m", "podtask.entrypoint", "flyte",
        "--task", f"roundtrip:{task}",
        "--inputs", f"{url}/inputs.pb",
        "--output-prefix", f"{url}/out",
        "--raw-output-data-prefix", f"{url}/raw",
        "--source-root", str(TASKS),
    ]  # fmt: skip
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=ROOT)


def encode(values: dict[str, Any], hints: dict[str, Any], path: Path, *, offload: str = "") -> None:
    """inputs.pb as flytekit writes it; ``offload`` names an input moved out to its own file."""
    ctx = FlyteContextManager.current_context()
    lm = TypeEngine.dict_to_literal_map(ctx, values, hints).to_flyte_idl()
    if offload:
        from flyteidl.core.literals_pb2 import Literal

        where = path.with_name(f"{offload}.pb")
        where.write_bytes(lm.literals[offload].SerializeToString())
        lm.literals[offload].CopyFrom(Literal())
        lm.literals[offload].offloaded_metadata.uri = str(where)
        lm.literals[offload].offloaded_metadata.inferred_type.CopyFrom(
            TypeEngine.to_literal_type(hints[offload]).to_flyte_idl()
        )
    path.write_bytes(lm.SerializeToString())


def decode(path: Path, hints: dict[str, Any]) -> dict[str, Any]:
    from flyteidl.core.literals_pb2 import LiteralMap
    from flytekit.models.literals import LiteralMap as ModelMap

    lm = LiteralMap()
    lm.ParseFromString(path.read_bytes())
    ctx = FlyteContextManager.current_context()
    return TypeEngine.literal_map_to_kwargs(ctx, ModelMap.from_flyte_idl(lm), python_types=hints)


def test_typed_api_round_trip_with_defaults(tmp_path: Path) -> None:
    src = tmp_path / "in.txt"
    src.write_text("hello blob")
    dt = datetime.datetime(2024, 5, 1, 12, 30, 15, 250000, tzinfo=UTC)
    values = {
        "i": 7, "f": 1.25, "s": "héllo", "b": True, "dt": dt,
        "td": datetime.timedelta(minutes=90, microseconds=5), "li": [1, 2, 3],
        "nested": [["a", "b"], []], "d": {"x": 1, "y": [1.5, "z"], "m": {"k": None}},
        "blob": FlyteFile(str(src)),
    }  # fmt: skip
    hints = {
        "i": int, "f": float, "s": str, "b": bool, "dt": datetime.datetime,
        "td": datetime.timedelta, "li": list[int], "nested": list[list[str]], "d": dict,
        "blob": FlyteFile,
    }  # fmt: skip
    # "n" is left out (its default applies); "li" is offloaded, as Flyte does with big literals.
    encode(values, hints, tmp_path / "inputs.pb", offload="li")
    proc = entrypoint("typed_roundtrip", tmp_path / "inputs.pb", tmp_path / "out", tmp_path / "raw")
    assert proc.returncode == 0, proc.stderr
    assert not (tmp_path / "out" / "error.pb").exists()
    out_hints = {f"{k}_out": v for k, v in {**hints, "n": int}.items()}
    got = {
        k[: -len("_out")]: v for k, v in decode(tmp_path / "out" / "outputs.pb", out_hints).items()
    }
    blob = got.pop("blob")
    assert got == {
        "i": 8, "f": 2.5, "s": "héllo!", "b": False, "dt": dt + datetime.timedelta(days=1),
        "td": datetime.timedelta(minutes=180, microseconds=10), "li": [1, 2, 3, 99],
        "nested": [["b", "a"], []], "d": {"x": 1, "y": [1.5, "z"], "m": {"k": None}, "seen": True},
        "n": 42,
    }  # fmt: skip
    # The blob was offloaded under the raw output prefix, as flytekit does.
    assert str(blob.path).startswith(str(tmp_path / "raw"))
    assert Path(blob.download()).read_text() == "HELLO BLOB"


def test_legacy_api_round_trip(tmp_path: Path) -> None:
    csv = tmp_path / "rows.csv"
    csv.write_text("1,a\n2,b\n")
    blob = tmp_path / "b.bin"
    blob.write_text("payload")
    when = datetime.datetime(2020, 1, 2, 3, 4, 5, tzinfo=UTC)
    values = {
        "g": {"b": 1, "a": 2}, "c": CSV(str(csv)), "bl": FlyteFile(str(blob)),
        "fl": [0.5, 1.5, 2.0], "when": when, "gap": datetime.timedelta(seconds=3),
        "flag": False, "word": "w", "k": 3,
    }  # fmt: skip
    hints = {
        "g": dict, "c": CSV, "bl": FlyteFile, "fl": list[float], "when": datetime.datetime,
        "gap": datetime.timedelta, "flag": bool, "word": str, "k": int,
    }  # fmt: skip
    encode(values, hints, tmp_path / "inputs.pb")
    proc = entrypoint(
        "legacy_roundtrip", tmp_path / "inputs.pb", tmp_path / "out", tmp_path / "raw"
    )
    assert proc.returncode == 0, proc.stderr
    got = decode(
        tmp_path / "out" / "outputs.pb", {"g2": dict, "c2": CSV, "total": float, "summary": str}
    )
    assert got["g2"] == {"keys": ["a", "b"], "blob": "payload"}
    assert got["total"] == 4.0
    assert got["summary"] == f"w False {when.isoformat()} 3.0"
    assert Path(got["c2"].download()).read_text() == "1,a\n2,b\n3,w\n"
    assert str(got["c2"].path).endswith(".csv")


def _error(path: Path) -> Any:
    from flyteidl.core.errors_pb2 import ErrorDocument

    doc = ErrorDocument()
    doc.ParseFromString(path.read_bytes())
    return doc.error


def test_task_exception_is_a_user_error(tmp_path: Path) -> None:
    from flyteidl.core.errors_pb2 import ContainerError
    from flyteidl.core.execution_pb2 import ExecutionError

    encode({"x": 5}, {"x": int}, tmp_path / "inputs.pb")
    proc = entrypoint("fails", tmp_path / "inputs.pb", tmp_path / "out", tmp_path / "raw")
    assert proc.returncode == 1
    assert not (tmp_path / "out" / "outputs.pb").exists()
    error = _error(tmp_path / "out" / "error.pb")
    assert error.origin == ExecutionError.ErrorKind.USER
    assert error.kind == ContainerError.NON_RECOVERABLE
    assert error.code == "USER:ValueError"
    assert error.message.startswith("ValueError: boom 5")
    assert 'raise ValueError(f"boom {x}")' in error.message  # the traceback's last lines


def test_unreadable_inputs_are_a_system_error(tmp_path: Path) -> None:
    from flyteidl.core.errors_pb2 import ContainerError
    from flyteidl.core.execution_pb2 import ExecutionError

    proc = entrypoint("fails", tmp_path / "missing.pb", tmp_path / "out", tmp_path / "raw")
    assert proc.returncode == 1
    error = _error(tmp_path / "out" / "error.pb")
    assert error.origin == ExecutionError.ErrorKind.SYSTEM
    assert error.kind == ContainerError.RECOVERABLE
    assert "missing.pb" in error.message


def test_flytekit_task_under_flyte_mode(tmp_path: Path) -> None:
    """An exported flytekit task: its function gets a FlyteFile, its NamedTuple goes back."""
    src = tmp_path / "two.txt"
    src.write_text("x\ny\n")
    encode({"src": FlyteFile(str(src))}, {"src": FlyteFile}, tmp_path / "inputs.pb")
    proc = entrypoint(
        "flyte_tasks:count_lines", tmp_path / "inputs.pb", tmp_path / "out", tmp_path / "raw"
    )
    assert proc.returncode == 0, proc.stderr
    got = decode(tmp_path / "out" / "outputs.pb", {"copy": FlyteFile, "lines": int})
    assert got["lines"] == 2
    assert str(got["copy"].path).startswith(str(tmp_path / "raw"))
    assert Path(got["copy"].download()).read_text() == "x\ny\n"


def test_storage_urls_go_through_fsspec(tmp_path: Path) -> None:
    """On a cluster every location is a URL (s3://, gs://): here file:// takes the same path."""
    src = tmp_path / "in.csv"
    src.write_text("1,a\n")
    when = datetime.datetime(2021, 6, 1, tzinfo=UTC)
    values = {
        "g": {}, "c": CSV(str(src)), "bl": FlyteFile(str(src)), "fl": [], "when": when,
        "gap": datetime.timedelta(0), "flag": True, "word": "u", "k": 0,
    }  # fmt: skip
    hints = {
        "g": dict, "c": CSV, "bl": FlyteFile, "fl": list[float], "when": datetime.datetime,
        "gap": datetime.timedelta, "flag": bool, "word": str, "k": int,
    }  # fmt: skip
    encode(values, hints, tmp_path / "inputs.pb")
    proc = entrypoint_by_url("legacy_roundtrip", tmp_path)
    assert proc.returncode == 0, proc.stderr
    got = decode(
        tmp_path / "out" / "outputs.pb", {"g2": dict, "c2": CSV, "total": float, "summary": str}
    )
    assert got["c2"].path.startswith(f"{tmp_path}/raw/")  # a local file: a path, as flytekit writes
    assert Path(got["c2"].download()).read_text() == "1,a\n0,u\n"
    assert got["total"] == 0.0 and got["g2"] == {"keys": [], "blob": "1,a\n"}


def test_directory_type_is_flytekits_multipart_blob() -> None:
    from podtask._types import Types
    from podtask.interop.flyte.types import to_flyte_type

    for ours, theirs in ((Types.Directory, FlyteDirectory), (Types.List(Types.Directory),
                         list[FlyteDirectory])):  # fmt: skip
        assert to_flyte_type(ours) == TypeEngine.to_literal_type(theirs).to_flyte_idl()


DIR_HINTS = {"src": FlyteDirectory, "extras": list[FlyteFile], "more": list[FlyteDirectory]}
DIR_OUT_HINTS = {"merged": FlyteDirectory, "copies": list[FlyteDirectory], "sizes": list[FlyteFile]}


def check_dir_outputs(got: dict[str, Any], raw: str) -> None:
    merged = got["merged"]
    # Uploaded as flytekit uploads a directory: its files right under <raw>/<random>/.
    assert str(merged.path).startswith(f"{raw}/"), merged.path
    assert len(Path(str(merged.path)).relative_to(raw).parts) == 1
    assert tree(merged.download()) == {
        "a.txt": "alpha", "sub/deep/b.txt": "beta", "extras/e1.txt": "e-one",
        "extras/e2.txt": "e-two!",
    }  # fmt: skip
    assert [tree(d.download()) for d in got["copies"]] == [
        {"x.txt": "x", "seen.txt": "0"},
        {"y/z.txt": "zz", "seen.txt": "1"},
    ]
    assert [Path(f.download()).read_text() for f in got["sizes"]] == ["5", "5", "6", "4"]


def dir_inputs(tmp_path: Path) -> dict[str, Any]:
    src = make_tree(tmp_path / "src", {"a.txt": "alpha", "sub/deep/b.txt": "beta"})
    e1 = make_tree(tmp_path / "e", {"e1.txt": "e-one", "e2.txt": "e-two!"})
    return {
        "src": FlyteDirectory(str(src)),
        "extras": [FlyteFile(str(e1 / "e1.txt")), FlyteFile(str(e1 / "e2.txt"))],
        "more": [
            FlyteDirectory(str(make_tree(tmp_path / "m0", {"x.txt": "x"}))),
            FlyteDirectory(str(make_tree(tmp_path / "m1", {"y/z.txt": "zz"}))),
        ],
    }


def test_directories_round_trip(tmp_path: Path) -> None:
    """FlyteDirectory in (and lists of files and directories), FlyteDirectory out."""
    encode(dir_inputs(tmp_path), DIR_HINTS, tmp_path / "inputs.pb")
    proc = entrypoint("dir_roundtrip", tmp_path / "inputs.pb", tmp_path / "out", tmp_path / "raw")
    assert proc.returncode == 0, proc.stderr
    got = decode(tmp_path / "out" / "outputs.pb", DIR_OUT_HINTS)
    check_dir_outputs(got, str(tmp_path / "raw"))
    assert tree(tmp_path / "src") == {"a.txt": "alpha", "sub/deep/b.txt": "beta"}


def test_directories_through_storage_urls(tmp_path: Path) -> None:
    """Directories named by URL are downloaded, and outputs uploaded, through fsspec."""
    from flyteidl.core.literals_pb2 import LiteralMap

    encode(dir_inputs(tmp_path), DIR_HINTS, tmp_path / "inputs.pb")
    lm = LiteralMap()
    lm.ParseFromString((tmp_path / "inputs.pb").read_bytes())
    for name in ("src", "more"):  # as on a cluster: every location a URL
        lit = lm.literals[name]
        for blob in [lit] if name == "src" else list(lit.collection.literals):
            blob.scalar.blob.uri = f"file://{blob.scalar.blob.uri}"
    (tmp_path / "inputs.pb").write_bytes(lm.SerializeToString())
    proc = entrypoint_by_url("dir_roundtrip", tmp_path)
    assert proc.returncode == 0, proc.stderr
    check_dir_outputs(decode(tmp_path / "out" / "outputs.pb", DIR_OUT_HINTS), str(tmp_path / "raw"))


def test_a_single_file_where_a_directory_is_expected_is_refused(tmp_path: Path) -> None:
    from flyteidl.core.execution_pb2 import ExecutionError

    f = make_tree(tmp_path / "d", {"only.txt": "1"}) / "only.txt"
    encode({"src": FlyteFile(str(f))}, {"src": FlyteFile}, tmp_path / "inputs.pb")
    lm_path = tmp_path / "inputs.pb"
    from flyteidl.core.literals_pb2 import LiteralMap

    lm = LiteralMap()
    lm.ParseFromString(lm_path.read_bytes())
    lm.literals["extras"].collection.SetInParent()
    lm.literals["more"].collection.SetInParent()
    lm_path.write_bytes(lm.SerializeToString())
    proc = entrypoint("dir_roundtrip", lm_path, tmp_path / "out", tmp_path / "raw")
    assert proc.returncode == 1
    error = _error(tmp_path / "out" / "error.pb")
    assert error.origin == ExecutionError.ErrorKind.USER
    assert "expected Directory, got a single file" in error.message, error.message
    assert not (tmp_path / "out" / "outputs.pb").exists()


def test_flytekit_task_with_directories_under_flyte_mode(tmp_path: Path) -> None:
    """An exported flytekit task: its function gets a FlyteDirectory, its output one goes back."""
    src = make_tree(tmp_path / "src", {"a.txt": "alpha", "sub/b.txt": "beta"})
    note = make_tree(tmp_path / "n", {"n1.md": "remember"}) / "n1.md"
    values = {"src": FlyteDirectory(str(src)), "notes": [FlyteFile(str(note))]}
    encode(values, {"src": FlyteDirectory, "notes": list[FlyteFile]}, tmp_path / "inputs.pb")
    proc = entrypoint(
        "flyte_tasks:catalogue", tmp_path / "inputs.pb", tmp_path / "out", tmp_path / "raw"
    )
    assert proc.returncode == 0, proc.stderr
    got = decode(tmp_path / "out" / "outputs.pb", {"tree": FlyteDirectory, "names": list[str]})
    assert got["names"] == ["a.txt", "notes/n1.md", "sub/b.txt"]
    assert str(got["tree"].path).startswith(str(tmp_path / "raw"))
    assert tree(got["tree"].download()) == {
        "a.txt": "alpha", "sub/b.txt": "beta", "notes/n1.md": "remember",
        "INDEX": "a.txt\nnotes/n1.md\nsub/b.txt",
    }  # fmt: skip
