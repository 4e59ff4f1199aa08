"""Count lines and code lines of podtask's pod-driving source at a commit.

Issue 9 acceptance 1 asks for "the source is smaller for the same behaviour";
this prints the figure so each cut can state it. Code lines are the lines that
hold a token other than comments, newlines and docstrings: docstrings are found
with ``ast`` (module, class and function docstrings), comments and blank lines
with ``tokenize``.

Usage: python bench/source_size.py [REV | .] [--files PATH ...] [--issue-time]
"""

from __future__ import annotations

import argparse
import ast
import io
import subprocess
import tokenize
from pathlib import Path

#: The three files that each held a copy of the kubelet when issue 9 was filed.
ISSUE_FILES = (
    "src/podtask/engines/local/engine.py",
    "src/podtask/engines/podman/engine.py",
    "src/podtask/testing/apiserver/kubelet.py",
)
#: The pod driver, its adapters and the contract on main after issue 9 item 1-2.
DRIVER_FILES = (
    "src/podtask/engines/_kubelet/__init__.py",
    "src/podtask/engines/_kubelet/attempt.py",
    "src/podtask/engines/_kubelet/driver.py",
    "src/podtask/engines/_kubelet/port.py",
    *ISSUE_FILES,
    "src/podtask/_contract.py",
)


def _docstring_lines(tree: ast.AST) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if (
                body
                and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)
            ):
                end = body[0].end_lineno or body[0].lineno
                lines.update(range(body[0].lineno, end + 1))
    return lines


def count(source: str) -> tuple[int, int]:
    """Return (physical lines, code lines) of one Python source."""
    skip = {
        tokenize.COMMENT,
        tokenize.NL,
        tokenize.NEWLINE,
        tokenize.INDENT,
        tokenize.DEDENT,
        tokenize.ENCODING,
        tokenize.ENDMARKER,
    }
    code: set[int] = set()
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type not in skip:
            code.update(range(tok.start[0], tok.end[0] + 1))
    code -= _docstring_lines(ast.parse(source))
    return len(source.splitlines()), len(code)


def show(rev: str, path: str) -> str | None:
    """The file at ``rev``; ``rev`` "." reads the working tree."""
    if rev == ".":
        try:
            return Path(path).read_text()
        except OSError:
            return None
    done = subprocess.run(
        ["git", "show", f"{rev}:{path}"], capture_output=True, text=True, check=False
    )
    return done.stdout if done.returncode == 0 else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rev", nargs="?", default="HEAD")
    parser.add_argument("--files", nargs="+", help="paths (default: the driver set)")
    parser.add_argument(
        "--issue-time",
        action="store_true",
        help="the three files of issue 9 (use with rev 1dbb3bf)",
    )
    args = parser.parse_args()
    files = args.files or (ISSUE_FILES if args.issue_time else DRIVER_FILES)
    commit = (
        "the working tree"
        if args.rev == "."
        else subprocess.run(
            ["git", "rev-parse", "--short", args.rev], capture_output=True, text=True, check=True
        ).stdout.strip()
    )
    total_lines = total_code = 0
    for path in files:
        source = show(args.rev, path)
        if source is None:
            print(f"{'-':>6} {'-':>6}  {path} (absent)")
            continue
        lines, code = count(source)
        total_lines += lines
        total_code += code
        print(f"{lines:>6} {code:>6}  {path}")
    print(f"{total_lines:>6} {total_code:>6}  total at {commit} (lines, code lines)")


if __name__ == "__main__":
    main()
