"""``podtask.Directory`` inputs and outputs through ``podtask run`` on the local engine."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.run.conftest import needs_namespaces, podtask, run_json

pytestmark = [needs_namespaces, pytest.mark.slow]

TASKS = Path(__file__).parent / "tasks" / "directory_tasks.py"


def tree(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): p.read_text() for p in root.rglob("*") if p.is_file()}


def source_tree(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "a.txt").write_text("alpha")
    (src / "sub" / "b.txt").write_text("beta")
    return src


def test_a_directory_in_gives_a_directory_out_under_the_run(tmp_path: Path) -> None:
    src = source_tree(tmp_path)
    rc, doc, err = run_json("shout_tree", "--src", str(src), file=TASKS)
    assert rc == 0, err
    assert doc["phase"] == "SUCCEEDED"
    out = Path(doc["outputs"]["o0"])
    # The tree is stored with the run's outputs, not left in the container's temp dir.
    assert "/outputs/blobs/" in str(out), out
    assert tree(out) == {"a.txt": "ALPHA!", "sub/b.txt": "BETA!"}
    assert tree(src) == {"a.txt": "alpha", "sub/b.txt": "beta"}  # the input is untouched


@pytest.fixture(scope="module")
def apiserver() -> Iterator[Any]:
    from podtask.testing.apiserver import ApiServer

    with ApiServer.start(version="v1.30.0") as srv:
        yield srv


def test_a_directory_output_comes_back_from_the_kubernetes_engine(
    tmp_path: Path, apiserver: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KUBECONFIG", str(apiserver.kubeconfig_path))
    src = source_tree(tmp_path)
    rc, doc, err = run_json("shout_tree", "--src", str(src), "--engine", "kubernetes", file=TASKS)
    assert rc == 0, err
    assert doc["engine"] == "kubernetes" and doc["phase"] == "SUCCEEDED", doc
    out = Path(doc["outputs"]["o0"])
    assert out.is_relative_to(Path(doc["run_dir"])), out  # copied back into the run's dir
    assert tree(out) == {"a.txt": "ALPHA!", "sub/b.txt": "BETA!"}


def test_a_list_of_directories(tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    (one / "x").mkdir(parents=True)
    two.mkdir()
    (one / "x" / "f").write_text("1")
    (one / "g").write_text("2")
    (two / "h").write_text("3")
    rc, doc, err = run_json("count_files", "--dirs", f'["{one}", "{two}"]', file=TASKS)
    assert rc == 0, err
    assert doc["outputs"] == {"o0": 3}


@pytest.mark.parametrize("kind", ["missing", "file"])
def test_a_directory_input_that_is_not_one_is_refused_before_anything_starts(
    tmp_path: Path, kind: str
) -> None:
    given = tmp_path / "nope"
    if kind == "file":
        given.write_text("x")
    r = podtask("run", str(TASKS), "shout_tree", "--src", str(given))
    assert r.returncode == 2, r.stderr
    expected = "not a directory" if kind == "file" else "no such directory"
    assert expected in r.stderr and "src" in r.stderr, r.stderr
    assert "existing directory" in r.stderr


def test_a_file_returned_as_a_directory_fails_the_task_naming_the_output() -> None:
    rc, doc, _ = run_json("not_a_directory", file=TASKS)
    assert rc != 0
    assert doc["phase"] == "FAILED"
    assert "which is not a directory" in str(doc["error"]), doc["error"]


def test_a_symlink_in_a_directory_output_is_stored_as_its_data() -> None:
    rc, doc, err = run_json("linked_tree", file=TASKS)
    assert rc == 0, err
    link = Path(doc["outputs"]["o0"]) / "link.txt"
    assert not link.is_symlink() and link.read_text() == "the data"


def test_the_seed_style_types_directory(tmp_path: Path) -> None:
    src = source_tree(tmp_path)
    rc, doc, err = run_json("legacy_listing", "--src", str(src), file=TASKS)
    assert rc == 0, err
    assert doc["outputs"]["listing"] == "a.txt,sub/b.txt"
    copy = Path(doc["outputs"]["copy"])
    assert "/outputs/blobs/" in str(copy)
    assert tree(copy) == {"a.txt": "alpha", "sub/b.txt": "beta"}


def test_a_directory_flows_from_one_node_to_the_next(tmp_path: Path) -> None:
    rc, doc, err = run_json("shout_and_read", "--src", str(source_tree(tmp_path)), file=TASKS)
    assert rc == 0, err
    assert doc["phase"] == "SUCCEEDED", doc
    assert doc["outputs"] == {"o0": "a.txt=ALPHA?,sub/b.txt=BETA?"}
