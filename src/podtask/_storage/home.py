"""Where podtask keeps its state on this machine.

One directory holds the run database and every run's files, so that a user
can inspect, back up or wipe podtask's state with ordinary tools, and tests
can point it at a temporary directory with ``PODTASK_HOME``.
"""

from __future__ import annotations

import os
from pathlib import Path

from podtask._errors import SpecError

HOME_ENV = "PODTASK_HOME"


def podtask_home() -> Path:
    """Return the podtask home (``$PODTASK_HOME`` or ``~/.podtask``), creating it.

    Created with mode 0o700 because run directories hold task inputs and logs,
    which may carry secrets; an existing directory's mode is left alone so a
    user's deliberate choice is respected.
    """
    raw = os.environ.get(HOME_ENV)
    home = Path(raw).expanduser() if raw else Path.home() / ".podtask"
    try:
        home.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise SpecError(
            f"cannot create the podtask home {str(home)!r}: {exc.strerror or exc}",
            hint=f"set {HOME_ENV} to a writable directory",
        ) from exc
    if not home.is_dir():
        raise SpecError(
            f"the podtask home {str(home)!r} is not a directory",
            hint=f"set {HOME_ENV} to a directory",
        )
    return home


def schema_cache() -> Path:
    """Where manifests that passed strict schema validation are remembered."""
    return podtask_home() / "cache" / "schema"
