"""The code bundle of ``--ship-code``: which files go, how they are zipped, how they are unpacked.

A bundle leaves this machine for object storage and a cluster, so what goes
in must be what the user would push to a repository, never their secrets:

- in a git work tree, only what ``git ls-files --cached --others
  --exclude-standard`` lists (so ``.gitignore`` and ``.git/info/exclude`` are
  honoured); without a usable git, the same rules read by ``ignore.py``;
- ``.podtaskignore`` files (gitignore syntax) are honoured everywhere;
- dotfiles and dot-folders (``.env``, ``.aws``, ``.ssh``) are left out unless
  an ``include`` pattern names them or a folder above them;
- virtual environments, caches and build output are left out;
- a symlink whose target is outside the folder is skipped with a warning
  naming it (never followed); one inside the folder ships its target's bytes.

Unpacking is the other side of the trust boundary: an entry that is a
symlink, absolute, or climbs with ``..`` is refused, and the unpacked size is
capped twice, on the sizes the zip declares and on the bytes actually written,
so a small zip cannot fill the pod's disk.
"""

from __future__ import annotations

import fnmatch
import io
import os
import shutil
import stat
import subprocess
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from podtask._errors import SpecError
from podtask._storage.ignore import IgnoreMatcher

#: Directories never shipped: virtual environments, caches, build output (dot-folders aside).
SKIP_DIRS = frozenset(
    {"venv", "env", "__pycache__", "node_modules", "build", "dist", ".git", ".hg", ".svn"}
)
MAX_BUNDLE_BYTES = 100 * 1024 * 1024
#: Unpacking refuses more than this, declared or written (what the maker allows, plus slack).
MAX_UNPACKED_BYTES = MAX_BUNDLE_BYTES
MAX_ENTRIES = 100_000
IGNORE_FILES = (".gitignore", ".podtaskignore")
_CHUNK = 64 * 1024
_LS_FILES = ("--cached", "--others", "--exclude-standard", "--", ".")
_HINT = "bake the code into the image and pass --no-ship-code"


@dataclass(frozen=True)
class BundleEntry:
    path: str  # inside the bundle, "/"-separated
    size: int
    source: Path  # the real file read (a symlink inside the folder is resolved)


@dataclass(frozen=True)
class BundlePlan:
    """What a bundle of ``root`` holds, and what was left out on purpose and why."""

    root: Path
    entries: tuple[BundleEntry, ...]
    warnings: tuple[str, ...] = ()
    git: bool = False  # the file list came from git
    left_out: tuple[str, ...] = field(default=())  # dot paths left out (so users can include)

    @property
    def total_bytes(self) -> int:
        return sum(e.size for e in self.entries)


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _work_tree_top(root: Path) -> Path | None:
    for d in (root, *root.parents):
        if (d / ".git").exists():
            return d
    return None


def _git_files(root: Path) -> list[str] | None:
    """Paths under ``root`` git would commit (tracked or untracked, not ignored); None: no git."""
    git = shutil.which("git")
    if git is None:
        return None
    try:
        done = subprocess.run(
            # core.fsmonitor off: never let a repository's config run a command for us.
            [git, "-c", "core.fsmonitor=false", "-C", str(root), "ls-files", "-z", *_LS_FILES],
            capture_output=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        return None
    return sorted({p for p in os.fsdecode(done.stdout).split("\0") if p})


class _Selector:
    """The rules of one bundle: skip lists, dot rule, include patterns, ignore files."""

    def __init__(self, root: Path, include: Sequence[str], *, gitignore: bool) -> None:
        self.root = root
        self.real_root = os.path.realpath(root)
        self.include = tuple(p.strip("/") for p in include if p.strip("/"))
        # .gitignore counts only in a git work tree, as git itself would read it.
        top = _work_tree_top(root) if gitignore else None
        self.gitignore = top is not None
        self.matcher = IgnoreMatcher()
        self.entries: dict[str, BundleEntry] = {}
        self.warnings: list[str] = []
        self.left_out: list[str] = []
        self.walked: set[str] = set()
        # Ignore files above the folder (up to the work tree's top) apply to it too; each is
        # kept with the folder's path relative to it, since its patterns are relative to it.
        self.ancestors: list[tuple[str, IgnoreMatcher]] = []
        if top is not None:
            rel_root = root.relative_to(top)
            for d in [top / p for p in reversed(rel_root.parents)]:
                self._add_ancestor(d / ".gitignore", root.relative_to(d).as_posix())
            self._add_ancestor(top / ".git" / "info" / "exclude", rel_root.as_posix())

    def _add_ancestor(self, path: Path, below: str) -> None:
        matcher = IgnoreMatcher()
        matcher.add_file(path, "")
        if matcher.rules:
            self.ancestors.append(("" if below == "." else below, matcher))

    def ignore_files_in(self, rel_dir: str) -> None:
        d = self.root / rel_dir if rel_dir else self.root
        for name in IGNORE_FILES:
            if name == ".gitignore" and not self.gitignore:
                continue
            self.matcher.add_file(d / name, rel_dir)

    def included(self, rel: str) -> bool:
        """An include pattern names ``rel`` or a folder above it."""
        parts = rel.split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        return any(fnmatch.fnmatchcase(p, pat) for p in prefixes for pat in self.include)

    def excluded(self, rel: str, *, is_dir: bool) -> bool:
        """Left out by a skip list, the dot rule or an ignore file (checking every parent)."""
        parts = rel.split("/")
        for i, name in enumerate(parts):
            prefix = "/".join(parts[: i + 1])
            last = i == len(parts) - 1
            if (not last or is_dir) and (name in SKIP_DIRS or name.endswith(".egg-info")):
                return True
            if name.startswith(".") and not self.included(prefix):
                self.left_out.append(prefix)
                return True
            if self.matcher.ignored(prefix, is_dir=is_dir or not last):
                return True
            for below, other in self.ancestors:
                seen_from_there = f"{below}/{prefix}" if below else prefix
                if other.ignored(seen_from_there, is_dir=is_dir or not last):
                    return True
        return rel.endswith((".pyc", ".pyo"))

    def add(self, rel: str) -> None:
        """Take ``rel`` (a file, or a folder to walk) if the rules allow it."""
        path = self.root / rel
        if not os.path.lexists(path):
            return  # e.g. deleted from the work tree but still in git's index
        real = os.path.realpath(path)
        is_dir = os.path.isdir(real)
        if self.excluded(rel, is_dir=is_dir):
            return  # left out by name first: an ignored link to outside needs no warning
        if not _inside(real, self.real_root):
            self.warnings.append(
                f"skipped {rel}: it is a symlink to {real}, outside {self.root} "
                "(copy the file into the folder to ship it)"
            )
        elif is_dir:
            self.walk(rel)
        elif os.path.isfile(real):
            self.entries[rel] = BundleEntry(rel, os.path.getsize(real), Path(real))

    def walk(self, rel_dir: str) -> None:
        """Every file under ``rel_dir`` the rules allow; folders are pruned as early as possible."""
        real = os.path.realpath(self.root / rel_dir if rel_dir else self.root)
        if real in self.walked:
            return  # a symlink loop, or a folder already shipped under another name
        self.walked.add(real)
        self.ignore_files_in(rel_dir)
        try:
            names = sorted(os.listdir(real))
        except OSError as exc:
            self.warnings.append(f"skipped {rel_dir or '.'}: {exc.strerror or exc}")
            return
        for name in names:
            self.add(f"{rel_dir}/{name}" if rel_dir else name)


def plan_code_bundle(root: Path, *, include: Sequence[str] = ()) -> BundlePlan:
    """Decide which files a bundle of ``root`` ships, without reading them."""
    root = Path(root).resolve()
    listed = _git_files(root)
    selector = _Selector(root, include, gitignore=listed is None)
    if listed is None:
        selector.walk("")
    else:
        # .podtaskignore files, which git does not read: shallow first, so deeper ones win.
        selector.matcher.add_file(root / ".podtaskignore", "")
        nested = [p for p in listed if p.endswith("/.podtaskignore")]
        for rel in sorted(nested, key=lambda p: (p.count("/"), p)):
            selector.matcher.add_file(root / rel, rel.rpartition("/")[0])
        selector.walked.add(os.path.realpath(root))
        for rel in listed:
            selector.add(rel)
    return BundlePlan(
        root=root,
        entries=tuple(sorted(selector.entries.values(), key=lambda e: e.path)),
        warnings=tuple(selector.warnings),
        git=listed is not None,
        left_out=tuple(sorted(set(selector.left_out))),
    )


def make_code_bundle(
    root: Path,
    *,
    include: Sequence[str] = (),
    limit: int = MAX_BUNDLE_BYTES,
    notice: Callable[[str], None] | None = None,
) -> bytes:
    """A zip of what ``plan_code_bundle`` selects, deterministic for the same files.

    Fixed timestamps and sorted entries give the same bytes for the same tree,
    so an unchanged project uploads an identical bundle.
    """
    plan = plan_code_bundle(root, include=include)
    for warning in plan.warnings:
        if notice is not None:
            notice(f"warning: --ship-code {warning}")
    if plan.total_bytes > limit:
        raise SpecError(
            f"the code under {str(plan.root)!r} is over {limit // (1024 * 1024)} MiB "
            f"({plan.total_bytes} bytes; `podtask bundle FILE` lists it)",
            field="--ship-code",
            hint=_HINT,
        )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for entry in plan.entries:
            fd = os.open(entry.source, os.O_RDONLY | os.O_NOFOLLOW)
            with os.fdopen(fd, "rb") as f:
                data = f.read(limit + 1)
                mode = os.fstat(f.fileno()).st_mode
            info = zipfile.ZipInfo(entry.path, (1980, 1, 1, 0, 0, 0))
            info.external_attr = (stat.S_IFREG | (mode & 0o755)) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    return buffer.getvalue()


def _refuse(name: str, why: str) -> SpecError:
    return SpecError(f"code bundle entry {name!r} {why}", field="code bundle", hint=_HINT)


def _check_names(infos: Iterable[zipfile.ZipInfo], max_bytes: int) -> list[zipfile.ZipInfo]:
    checked: list[zipfile.ZipInfo] = []
    declared = 0
    for info in infos:
        name = info.filename
        parts = name.replace("\\", "/").split("/")
        if name.startswith(("/", "\\")) or (name[:1].isalpha() and name[1:3] in (":/", ":\\")):
            raise _refuse(name, "is an absolute path")
        if ".." in parts:
            raise _refuse(name, "climbs out of the bundle with '..'")
        if stat.S_ISLNK(info.external_attr >> 16):
            raise _refuse(name, "is a symlink (bundles hold regular files only)")
        declared += info.file_size
        if declared > max_bytes:
            raise _refuse(name, f"takes the unpacked size past {max_bytes} bytes")
        checked.append(info)
    if len(checked) > MAX_ENTRIES:
        raise SpecError(f"code bundle has over {MAX_ENTRIES} entries", field="code bundle")
    return checked


def unpack_code_bundle(data: bytes, dest: Path, *, max_bytes: int = MAX_UNPACKED_BYTES) -> None:
    """Unpack a bundle into ``dest`` (created), or refuse it and leave nothing behind.

    Names and declared sizes are checked before anything is written; the bytes
    written are counted too, since a zip's declared sizes are only a claim.
    """
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise SpecError(f"code bundle is not a zip file: {exc}", field="code bundle") from exc
    dest = Path(dest)
    with zf:
        infos = _check_names(zf.infolist(), max_bytes)
        dest.mkdir(parents=True, exist_ok=True)
        written = 0
        try:
            for info in infos:
                target = dest / info.filename
                if info.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                mode = (info.external_attr >> 16) & 0o755 or 0o644
                fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
                with os.fdopen(fd, "wb") as out, zf.open(info) as src:
                    while chunk := src.read(_CHUNK):
                        written += len(chunk)
                        if written > max_bytes:
                            raise _refuse(info.filename, f"unpacks past {max_bytes} bytes")
                        out.write(chunk)
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            shutil.rmtree(dest, ignore_errors=True)
            raise SpecError(f"code bundle cannot be unpacked: {exc}", field="code bundle") from exc
        except BaseException:
            shutil.rmtree(dest, ignore_errors=True)
            raise


__all__ = [
    "MAX_BUNDLE_BYTES",
    "MAX_UNPACKED_BYTES",
    "BundleEntry",
    "BundlePlan",
    "make_code_bundle",
    "plan_code_bundle",
    "unpack_code_bundle",
]
