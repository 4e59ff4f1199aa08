"""Import cost: ``import podtask`` vs ``import flytekit``, over a bare interpreter start.

    python bench/bench_import.py [--repeat N] [--python PY] [--no-flytekit]

Each import runs in a fresh interpreter of its own venv (podtask: --python,
default the interpreter running this script; flytekit: bench/.venvs/flytekit),
and each venv's ``python -c pass`` is measured too, so the "added" figure is
the import alone. Aims (issue 15): ``import podtask`` adds <= 0.05 s and
``podtask --help`` (``python -m podtask --help``) <= 0.1 s.
"""

from __future__ import annotations

import sys

from _common import (
    ANCHOR_IMPORT_FLYTEKIT_MB,
    ANCHOR_IMPORT_FLYTEKIT_S,
    ANCHOR_PYTHON_PASS_S,
    ANCHORS,
    Measurement,
    Row,
    base_parser,
    ensure_flytekit,
    mb,
    measure,
    podtask_python,
    print_context,
    print_table,
    ratio,
    secs,
)

AIM_ADDED_S = 0.05
AIM_HELP_S = 0.1


def added(m: Measurement | None, bare: Measurement | None) -> float | None:
    if m is None or bare is None or not m.ok or not bare.ok:
        return None
    return m.median - bare.median


def main() -> int:
    args = base_parser(__doc__.splitlines()[0], default_repeat=10).parse_args()
    print_context()
    fk_python = ensure_flytekit(args)
    pt_python = podtask_python(args)

    print(f"measuring ({args.repeat} runs each, after a warm-up) ...")
    pt_bare = pt_import = pt_help = fk_bare = fk_import = None
    if pt_python:
        pt_bare = measure(
            "python -c pass (podtask venv)", [pt_python, "-c", "pass"], repeat=args.repeat
        )
        pt_import = measure(
            "import podtask", [pt_python, "-c", "import podtask"], repeat=args.repeat
        )
        pt_help = measure(
            "podtask --help", [pt_python, "-m", "podtask", "--help"], repeat=args.repeat
        )
    if fk_python:
        fk_bare = measure(
            "python -c pass (flytekit venv)", [str(fk_python), "-c", "pass"], repeat=args.repeat
        )
        fk_import = measure(
            "import flytekit", [str(fk_python), "-c", "import flytekit"], repeat=args.repeat
        )

    pt_added = added(pt_import, pt_bare)
    if fk_python:
        fk_added = added(fk_import, fk_bare)
        fk_added_txt = f"{fk_added:.3f} s" if fk_added is not None else "failed"
        fk_wall_txt, fk_rss_txt = secs(fk_import), mb(fk_import)
        fk_bare_txt = secs(fk_bare)
    else:
        fk_added = ANCHOR_IMPORT_FLYTEKIT_S - ANCHOR_PYTHON_PASS_S
        fk_added_txt = f"{fk_added:.2f} s ({ANCHORS})"
        fk_wall_txt = f"{ANCHOR_IMPORT_FLYTEKIT_S:.2f} s ({ANCHORS})"
        fk_rss_txt = f"{ANCHOR_IMPORT_FLYTEKIT_MB:.0f} MB ({ANCHORS})"
        fk_bare_txt = f"{ANCHOR_PYTHON_PASS_S:.2f} s ({ANCHORS})"

    rows = [
        Row("python -c pass", secs(pt_bare, na="not run"), fk_bare_txt, "-", "-"),
        Row(
            "python -c 'import X', wall",
            secs(pt_import, na="not run"),
            fk_wall_txt,
            ratio(
                pt_import.median if pt_import and pt_import.ok else None,
                fk_import.median
                if fk_import and fk_import.ok
                else (None if fk_python else ANCHOR_IMPORT_FLYTEKIT_S),
            ),
            "-",
        ),
        Row(
            "added over python -c pass",
            f"{pt_added:.3f} s" if pt_added is not None else "not run",
            fk_added_txt,
            ratio(pt_added if pt_added and pt_added > 0 else None, fk_added),
            f"podtask <= {AIM_ADDED_S} s",
        ),
        Row("peak RSS of the interpreter", mb(pt_import, na="not run"), fk_rss_txt, "-", "-"),
    ]
    help_added = added(pt_help, pt_bare)
    rows.append(
        Row(
            "podtask --help, added over python -c pass",
            f"{help_added:.3f} s" if help_added is not None else "not run",
            "-",
            "-",
            f"<= {AIM_HELP_S} s",
        )
    )
    print_table("import cost (baseline = flytekit)", rows)
    if pt_added is not None:
        verdict = "met" if pt_added <= AIM_ADDED_S else "NOT met"
        print(f"aim (import podtask adds <= {AIM_ADDED_S} s): {verdict}")
    if help_added is not None:
        verdict = "met" if help_added <= AIM_HELP_S else "NOT met"
        print(f"aim (podtask --help adds <= {AIM_HELP_S} s): {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
