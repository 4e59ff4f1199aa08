"""The podman image for flytekit tasks: built once per source and requirements, then reused.

``localhost/podtask-python`` has podtask but not flytekit; a flytekit task's
primary needs both.  The image is ``localhost/podtask-python`` plus the
wheels of ``IMAGE_REQUIREMENTS`` (cached on the host under
``~/.cache/podtask-ci``) and a wheel of this checkout; its tag hashes all of
that, so an unchanged checkout reuses it, and older tags are removed.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
REPO = "localhost/podtask-flyte"
BASE = "localhost/podtask-python:latest"
CONTAINERFILE = HERE / "flyte_image.Containerfile"
IMAGE_REQUIREMENTS = ["flytekit==1.16.31", "kubernetes", "python-dateutil<3", "msgpack"]


def _run(*cmd: str) -> str:
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=1200)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
    return proc.stdout


def _key() -> str:
    h = hashlib.sha256()
    h.update(_run("podman", "image", "inspect", "--format", "{{.Id}}", BASE).encode())
    h.update("\n".join(IMAGE_REQUIREMENTS).encode())
    h.update(CONTAINERFILE.read_bytes())
    for path in sorted([ROOT / "pyproject.toml", *(ROOT / "src").rglob("*.py")]):
        h.update(str(path.relative_to(ROOT)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def _wheels() -> Path:
    req = hashlib.sha256("\n".join(IMAGE_REQUIREMENTS).encode()).hexdigest()[:12]
    cache = Path.home() / ".cache" / "podtask-ci" / f"flyte-wheels-{req}"
    if not (cache / ".complete").exists():
        shutil.rmtree(cache, ignore_errors=True)
        cache.mkdir(parents=True)
        _run(sys.executable, "-m", "pip", "wheel", "-q", "-w", str(cache), *IMAGE_REQUIREMENTS)
        (cache / ".complete").touch()
    return cache


def flyte_image() -> str:
    """The image's name, building it when this checkout has none yet."""
    image = f"{REPO}:{_key()}"
    exists = subprocess.run(["podman", "image", "exists", image], check=False)
    if exists.returncode == 0:
        return image
    with tempfile.TemporaryDirectory(prefix="podtask-flyte-image-") as tmp:
        ctx = Path(tmp)
        shutil.copytree(_wheels(), ctx / "wheels")
        (ctx / "image-requirements.txt").write_text("\n".join(IMAGE_REQUIREMENTS) + "\n")
        _run(
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "-w",
            str(ctx / "podtask"),
            str(ROOT),
        )
        _run("podman", "build", "-q", "--squash", "--build-arg", f"BASE={BASE}",
             "-f", str(CONTAINERFILE), "-t", image, str(ctx))  # fmt: skip
    for old in _run("podman", "images", "--format", "{{.Repository}}:{{.Tag}}", REPO).split():
        if old != image:
            subprocess.run(["podman", "rmi", old], capture_output=True, check=False)
    return image
