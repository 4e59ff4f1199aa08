"""Compile cost: ``podtask compile`` vs ``pyflyte serialize`` of the same seed task.

    python bench/bench_compile.py [--repeat N] [--python PY] [--no-flytekit]

podtask:  podtask compile examples/seed_working_example.py -o OUTDIR
flytekit: (in bench/) pyflyte --pkgs flytekit_seed serialize --local-source-root . \
              workflows -f OUTDIR
          (in bench/) pyflyte --pkgs flytekit_seed package --image IMG:TAG -o OUT.tgz --force

Both produce the task template with the pod spec inside (flytekit: a TaskSpec
protobuf whose template has ``k8sPod``; podtask: template + Pod manifest).
Each run writes to a fresh output directory. Aim: podtask < 0.4 s wall.
"""

from __future__ import annotations

import sys
from pathlib import Path

from _common import (
    ANCHOR_PYFLYTE_SERIALIZE_S,
    ANCHORS,
    BENCH_DIR,
    PODTASK_SEED,
    REPO_ROOT,
    Measurement,
    Row,
    base_parser,
    ensure_flytekit,
    flytekit_env,
    mb,
    measure,
    podtask_cli,
    podtask_python,
    podtask_subcommand_available,
    print_context,
    print_table,
    ratio,
    remove,
    scratch_dir,
    secs,
)

AIM_S = 0.4
IMAGE = "localhost/podtask-bench:latest"  # any name:tag; nothing is pulled


def fresh(root: Path, name: str, i: int) -> Path:
    out = root / f"{name}-{i + 1}"
    out.mkdir(parents=True, exist_ok=True)
    return out


def main() -> int:
    args = base_parser(__doc__.splitlines()[0]).parse_args()
    print_context()
    fk_python = ensure_flytekit(args)
    pt_python = podtask_python(args)
    work = scratch_dir("bench-compile-")

    pt: Measurement | None = None
    pt_note = "not run"
    if pt_python:
        available, why = podtask_subcommand_available(pt_python, "compile")
        if not available:
            pt_note = "podtask compile not available"
            print(f"{pt_note} ({why})")
        elif not PODTASK_SEED.exists():
            pt_note = "example missing"
            print(f"podtask: {PODTASK_SEED} does not exist yet")
        else:
            cli = podtask_cli(pt_python)
            pt = measure(
                "podtask compile",
                lambda i: [*cli, "compile", str(PODTASK_SEED), "-o", str(fresh(work, "pt", i))],
                repeat=args.repeat,
                cwd=REPO_ROOT,
            )

    ser: Measurement | None = None
    pkg: Measurement | None = None
    if fk_python:
        pyflyte = str(Path(fk_python).parent / "pyflyte")
        env = flytekit_env()
        ser = measure(
            "pyflyte serialize",
            lambda i: [
                pyflyte,
                "--pkgs",
                "flytekit_seed",
                "serialize",
                "--local-source-root",
                str(BENCH_DIR),
                "workflows",
                "-f",
                str(fresh(work, "ser", i)),
            ],
            repeat=args.repeat,
            cwd=BENCH_DIR,
            env=env,
        )
        pkg = measure(
            "pyflyte package",
            lambda i: [
                pyflyte,
                "--pkgs",
                "flytekit_seed",
                "package",
                "--image",
                IMAGE,
                "-o",
                str(fresh(work, "pkg", i) / "seed.tgz"),
                "--force",
            ],
            repeat=args.repeat,
            cwd=BENCH_DIR,
            env=env,
        )
    remove(work)

    pt_median = pt.median if pt and pt.ok else None
    if fk_python:
        ser_txt, ser_val = secs(ser), (ser.median if ser and ser.ok else None)
    else:
        ser_txt, ser_val = (
            f"{ANCHOR_PYFLYTE_SERIALIZE_S:.2f} s ({ANCHORS})",
            (ANCHOR_PYFLYTE_SERIALIZE_S),
        )
    rows = [
        Row(
            "compile seed task vs pyflyte serialize, wall",
            secs(pt, na=pt_note),
            ser_txt,
            ratio(pt_median, ser_val),
            f"podtask < {AIM_S} s",
        ),
        Row("  peak RSS", mb(pt, na=pt_note), mb(ser, na="n/a"), "-", "-"),
    ]
    if pkg is not None:
        rows.append(
            Row(
                "compile vs pyflyte package, wall",
                secs(pt, na=pt_note),
                secs(pkg),
                ratio(pt_median, pkg.median if pkg.ok else None),
                "-",
            )
        )
    print_table("compile (baseline = flytekit)", rows)
    if pt_median is not None:
        print(f"aim (podtask compile < {AIM_S} s): {'met' if pt_median < AIM_S else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
