"""Ages on the command line (``7d``, ``12h``, ``90m``) and the retention setting.

Retention is read from the environment so it applies to every run of a user
or a CI job without a flag on each command: ``PODTASK_KEEP_RUNS=N`` keeps the
N newest runs, ``PODTASK_KEEP_FOR=AGE`` deletes finished runs older than AGE.
It is checked before a run starts (a bad value is exit 2, nothing started)
and applied after the run ends; a failure to prune is a warning, never the
run's result.
"""

from __future__ import annotations

import datetime as _dt
import os
import re

from podtask._errors import SpecError

KEEP_RUNS_ENV = "PODTASK_KEEP_RUNS"
KEEP_FOR_ENV = "PODTASK_KEEP_FOR"

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_AGE = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")
_AGE_HINT = "write a number and a unit: 90s, 30m, 12h, 7d, 2w (or 1d12h)"
MAX_KEEP = 1_000_000


def parse_age(text: str, *, field: str) -> float:
    """Seconds in an age such as ``7d`` or ``1h30m``."""
    compact = text.strip().lower().replace(" ", "")
    parts = _AGE.findall(compact)
    if not compact or "".join(n + u for n, u in parts) != compact:
        raise SpecError(f"{text!r} is not an age", field=field, hint=_AGE_HINT)
    return sum(float(n) * _UNITS[u] for n, u in parts)


def parse_since(text: str, *, field: str, now: float) -> float:
    """A moment given as an age back from now (``2h``) or an ISO 8601 date/time."""
    try:
        return now - parse_age(text, field=field)
    except SpecError:
        pass
    try:
        moment = _dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise SpecError(
            f"{text!r} is neither an age nor a date",
            field=field,
            hint="write an age (2h, 7d) or an ISO date (2024-05-01 or 2024-05-01T12:00)",
        ) from None
    return moment.timestamp()


def retention_from_env() -> tuple[int | None, float | None]:
    """``(keep, older_than)`` from the environment; a bad value raises SpecError."""
    keep: int | None = None
    older: float | None = None
    raw_keep = os.environ.get(KEEP_RUNS_ENV, "").strip()
    if raw_keep:
        try:
            keep = int(raw_keep)
        except ValueError:
            keep = -1
        if not 1 <= keep <= MAX_KEEP:
            raise SpecError(
                f"must be a whole number from 1 to {MAX_KEEP}, got {raw_keep!r}",
                field=KEEP_RUNS_ENV,
                hint=f"unset it to keep every run, or set e.g. {KEEP_RUNS_ENV}=100",
            )
    raw_for = os.environ.get(KEEP_FOR_ENV, "").strip()
    if raw_for:
        older = parse_age(raw_for, field=KEEP_FOR_ENV)
    return keep, older
