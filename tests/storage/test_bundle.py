"""``--ship-code`` bundles: no secrets out (ignore files, dotfiles, symlinks), no bombs in."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from tests.conftest import run_cli

from podtask._errors import SpecError
from podtask._storage.remote import make_code_bundle, unpack_code_bundle

TASK = "import podtask\n\n\n@podtask.task\ndef hello() -> str:\n    return 'hi'\n"


def names(bundle: bytes) -> list[str]:
    with zipfile.ZipFile(io.BytesIO(bundle)) as zf:
        return sorted(zf.namelist())


def project(tmp_path: Path) -> Path:
    """A task folder with the secrets the issue found in bundles, and a secret outside it."""
    outside = tmp_path / "home"
    (outside / ".aws").mkdir(parents=True)
    (outside / ".aws" / "credentials").write_text("aws_secret_access_key = AKIA-SECRET\n")
    proj = tmp_path / "proj"
    (proj / "pkg").mkdir(parents=True)
    (proj / "task.py").write_text(TASK)
    (proj / "pkg" / "__init__.py").write_text("")
    (proj / "pkg" / "util.py").write_text("X = 1\n")
    (proj / ".env").write_text("DB_PASSWORD=hunter2\n")
    (proj / ".ssh").mkdir()
    (proj / ".ssh" / "id_rsa").write_text("PRIVATE KEY\n")
    (proj / ".config").mkdir()
    (proj / ".config" / "settings.toml").write_text("a = 1\n")
    (proj / "secrets.txt").write_text("token\n")
    (proj / "data").mkdir()
    (proj / "data" / "big.bin").write_bytes(b"0" * 100)
    (proj / "data" / "keep.csv").write_text("a,b\n")
    (proj / ".gitignore").write_text("secrets.txt\n/data/*\n!/data/keep.csv\n")
    (proj / ".podtaskignore").write_text("*.bin\nnotes/\n")
    (proj / "notes").mkdir()
    (proj / "notes" / "todo.md").write_text("x\n")
    (proj / "creds").symlink_to(outside / ".aws" / "credentials")
    (proj / "alias.py").symlink_to(proj / "pkg" / "util.py")
    return proj


EXPECTED = ["alias.py", "data/keep.csv", "pkg/__init__.py", "pkg/util.py", "task.py"]


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_bundle_in_a_git_work_tree_ships_what_git_would_commit(tmp_path: Path) -> None:
    proj = project(tmp_path)
    subprocess.run(["git", "init", "-q", str(proj)], check=True)
    notices: list[str] = []
    bundle = make_code_bundle(proj, notice=notices.append)
    assert names(bundle) == EXPECTED
    assert b"hunter2" not in bundle and b"AKIA" not in bundle
    assert any("creds" in n and "outside" in n for n in notices), notices


def test_bundle_without_git_reads_the_ignore_files_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    proj = project(tmp_path)
    (proj / ".git").mkdir()  # a work tree, but no git binary to ask
    monkeypatch.setenv("PATH", "/nonexistent")
    assert names(make_code_bundle(proj)) == EXPECTED


def test_outside_a_work_tree_gitignore_does_not_apply_but_podtaskignore_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    proj = project(tmp_path)
    monkeypatch.setenv("PATH", "/nonexistent")
    got = names(make_code_bundle(proj))
    assert "secrets.txt" in got and "data/big.bin" not in got and "notes/todo.md" not in got
    assert not any(n.startswith(".") for n in got)


def test_include_names_dot_folders_and_files(tmp_path: Path) -> None:
    proj = project(tmp_path)
    got = names(make_code_bundle(proj, include=[".config", ".env"]))
    assert ".config/settings.toml" in got and ".env" in got
    assert ".ssh/id_rsa" not in got


def test_unpack_refuses_symlink_entries_and_escaping_paths(tmp_path: Path) -> None:
    bad = [("../evil.py", 0o644), ("/etc/evil", 0o644), ("C:/evil.py", 0o644), ("link", 0o120777)]
    for n, (name, attr) in enumerate(bad):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            zf.writestr("ok.py", "x = 1\n")
            info = zipfile.ZipInfo(name)
            info.external_attr = attr << 16
            zf.writestr(info, "/etc/passwd" if attr == 0o120777 else "bad")
        dest = tmp_path / f"out-{n}"
        with pytest.raises(SpecError, match="code bundle"):
            unpack_code_bundle(buf.getvalue(), dest)
        assert not dest.exists() or not any(dest.rglob("*"))
    assert not (tmp_path / "evil.py").exists()


def test_unpack_caps_the_unpacked_size(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with (
        zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf,
        zf.open("zeros.bin", "w") as out,
    ):
        for _ in range(200):  # streamed: the test itself stays small
            out.write(b"\0" * (1024 * 1024))
    bomb = buf.getvalue()
    assert len(bomb) < 300 * 1024  # a 200 KB zip ...
    with pytest.raises(SpecError, match="unpacked size"):  # ... must not unpack to 200 MB
        unpack_code_bundle(bomb, tmp_path / "out")
    assert not (tmp_path / "out" / "zeros.bin").exists()


def test_unpack_counts_bytes_when_the_declared_size_lies(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("zeros.bin", b"\0" * (4 * 1024 * 1024))
    data = bytearray(buf.getvalue())
    # Shrink the declared size (local header and central directory) to 1 KiB.
    real = (4 * 1024 * 1024).to_bytes(4, "little")
    assert data.count(real) == 2
    data = bytearray(bytes(data).replace(real, (1024).to_bytes(4, "little")))
    with pytest.raises(SpecError, match="code bundle"):
        unpack_code_bundle(bytes(data), tmp_path / "out", max_bytes=1024 * 1024)
    assert not (tmp_path / "out").exists()


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_podtask_bundle_lists_files_and_size(tmp_path: Path) -> None:
    proj = project(tmp_path)
    subprocess.run(["git", "init", "-q", str(proj)], check=True)
    r = run_cli("bundle", str(proj / "task.py"), "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert [f["path"] for f in doc["files"]] == EXPECTED
    assert doc["total_bytes"] == sum(f["size"] for f in doc["files"])
    assert "creds" in r.stderr and "outside" in r.stderr
    text = run_cli("bundle", str(proj / "task.py"), "--include", ".env")
    assert text.returncode == 0, text.stderr
    assert ".env" in text.stdout and "task.py" in text.stdout and "total" in text.stdout


@pytest.mark.parametrize("with_git", [True, False], ids=["git", "no-git"])
def test_a_deeper_podtaskignore_wins_and_ignored_links_are_not_warned_about(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, with_git: bool
) -> None:
    if with_git and shutil.which("git") is None:
        pytest.skip("git is not installed")
    proj = tmp_path / "proj"
    (proj / "sub").mkdir(parents=True)
    (proj / "a.txt").write_text("a")
    (proj / "sub" / "a.txt").write_text("a")
    (proj / ".podtaskignore").write_text("*.txt\nlink\n")
    (proj / "sub" / ".podtaskignore").write_text("!a.txt\n")
    (proj / "link").symlink_to("/etc/hostname")
    if with_git:
        subprocess.run(["git", "init", "-q", str(proj)], check=True)
    else:
        monkeypatch.setenv("PATH", "/nonexistent")
    notices: list[str] = []
    assert names(make_code_bundle(proj, notice=notices.append)) == ["sub/a.txt"]
    assert notices == []
