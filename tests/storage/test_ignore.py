"""The gitignore matcher used when git cannot answer: it must agree with git itself."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from podtask._storage.ignore import IgnoreMatcher, parse_rules

RULES = (
    """\
# a comment
*.log
!keep.log
/top.txt
build/
docs/**/draft.md
a/**/z
secret?.txt
[abc].cfg
\\#literal
"""
    + "trailing\\ \n"
)  # an escaped trailing space is part of the name

PATHS = [
    ("x.log", False),
    ("sub/x.log", False),
    ("keep.log", False),
    ("sub/keep.log", False),
    ("top.txt", False),
    ("sub/top.txt", False),
    ("build", True),
    ("sub/build", True),
    ("other/build", False),
    ("docs/draft.md", False),
    ("docs/a/b/draft.md", False),
    ("a/z", False),
    ("a/b/c/z", False),
    ("secret1.txt", False),
    ("secret12.txt", False),
    ("b.cfg", False),
    ("d.cfg", False),
    ("#literal", False),
    ("trailing ", False),
    ("plain.py", False),
]

EXPECTED = {
    "x.log": True,
    "sub/x.log": True,
    "keep.log": False,
    "sub/keep.log": False,
    "top.txt": True,
    "sub/top.txt": False,
    "build/": True,
    "sub/build/": True,
    "other/build": False,
    "docs/draft.md": True,
    "docs/a/b/draft.md": True,
    "a/z": True,
    "a/b/c/z": True,
    "secret1.txt": True,
    "secret12.txt": False,
    "b.cfg": True,
    "d.cfg": False,
    "#literal": True,
    "trailing ": True,
    "plain.py": False,
}


def key(path: str, is_dir: bool) -> str:
    return path + "/" if is_dir else path


def test_matcher_follows_gitignore_rules(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text(RULES)
    m = IgnoreMatcher()
    m.add_file(tmp_path / ".gitignore", "")
    got = {key(p, d): m.ignored(p, is_dir=d) for p, d in PATHS}
    assert got == EXPECTED


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_expectations_are_what_git_says(tmp_path: Path) -> None:
    """The table above is git's own answer, not ours (so the matcher test proves agreement)."""
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / ".gitignore").write_text(RULES)
    for path, is_dir in PATHS:
        target = tmp_path / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if is_dir:
            target.mkdir(exist_ok=True)
    queries = [key(p, d) for p, d in PATHS]
    done = subprocess.run(
        ["git", "-C", str(tmp_path), "check-ignore", "--no-index", "-z", "--stdin"],
        input="\0".join(queries) + "\0",
        capture_output=True,
        text=True,
        check=False,
    )
    ignored = {q for q in done.stdout.split("\0") if q}
    assert {q: q in ignored for q in queries} == EXPECTED


def test_nested_file_applies_below_its_folder_only() -> None:
    m = IgnoreMatcher()
    m.rules.extend(parse_rules("*.txt\n", "sub"))
    assert m.ignored("sub/a.txt", is_dir=False)
    assert m.ignored("sub/deep/a.txt", is_dir=False)
    assert not m.ignored("a.txt", is_dir=False)
