"""A gitignore matcher, for ``.podtaskignore`` files and for ``.gitignore`` when git is absent.

The code bundle must leave out what the user told git to leave out (``.env``,
credentials, build output).  ``git ls-files`` is the authority when git can
answer; this matcher covers ``.podtaskignore`` (which git does not read) and
work trees where git is not installed or refuses to run.

Semantics follow gitignore(5): blank lines and ``#`` comments are skipped,
``!`` re-includes, a trailing ``/`` matches directories only, a pattern with a
``/`` before its end is anchored to the directory of its file, otherwise it
matches a name at any depth; ``*`` and ``?`` stop at ``/``, ``**`` crosses
directories; the last matching line wins, deeper files after shallower ones.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Rule:
    base: str  # directory of the file that holds the rule, relative to the walk's top ("" = top)
    regex: re.Pattern[str]
    negate: bool
    dir_only: bool


def _translate(glob: str) -> str:
    """Regex body for one gitignore glob (already stripped of ``!``, anchoring and ``/``)."""
    out: list[str] = []
    i = 0
    while i < len(glob):
        c = glob[i]
        if glob.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif glob.startswith("/**", i) and i + 3 == len(glob):
            out.append("/.*")
            i += 3
        elif glob.startswith("**", i):
            out.append(".*")
            i += 2
        elif c == "*":
            out.append("[^/]*")
            i += 1
        elif c == "?":
            out.append("[^/]")
            i += 1
        elif c == "[":
            end = glob.find("]", i + 2 if glob[i + 1 : i + 2] in ("!", "]") else i + 1)
            if end == -1:
                out.append(re.escape(c))
                i += 1
                continue
            body = glob[i + 1 : end]
            if body.startswith("!"):
                body = "^" + body[1:]
            out.append("[" + body.replace("\\", "\\\\") + "]")
            i = end + 1
        elif c == "\\" and i + 1 < len(glob):
            out.append(re.escape(glob[i + 1]))
            i += 2
        else:
            out.append(re.escape(c))
            i += 1
    return "".join(out)


def parse_rules(text: str, base: str = "") -> list[Rule]:
    """The rules of one ignore file whose directory is ``base`` (relative, ``/``-separated)."""
    rules: list[Rule] = []
    for raw in text.splitlines():
        line = raw.rstrip("\r")
        # Trailing spaces are ignored unless escaped with a backslash.
        while line.endswith(" ") and not line.endswith("\\ "):
            line = line[:-1]
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        if negate or line.startswith(("\\!", "\\#")):
            line = line[1:]  # "!" negates; "\!" and "\#" are a literal first character
        dir_only = line.endswith("/")
        line = line.rstrip("/")
        if not line:
            continue
        anchored = "/" in line
        line = line.lstrip("/")
        body = _translate(line)
        prefix = "" if anchored else "(?:.*/)?"
        rules.append(Rule(base, re.compile(f"{prefix}{body}"), negate, dir_only))
    return rules


@dataclass
class IgnoreMatcher:
    """Rules from every ignore file seen so far, in the order git applies them."""

    rules: list[Rule] = field(default_factory=list)

    def add_file(self, path: Path, base: str) -> None:
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return
        self.rules.extend(parse_rules(text, base))

    def ignored(self, rel: str, *, is_dir: bool) -> bool:
        """Whether ``rel`` (relative to the walk's top) is ignored; parents are the caller's job."""
        verdict = False
        for rule in self.rules:
            if rule.dir_only and not is_dir:
                continue
            if rule.base:
                if not rel.startswith(rule.base + "/"):
                    continue
                sub = rel[len(rule.base) + 1 :]
            else:
                sub = rel
            if rule.regex.fullmatch(sub):
                verdict = not rule.negate
        return verdict


__all__ = ["IgnoreMatcher", "Rule", "parse_rules"]
