"""A test-only pause between two steps, so a test can ``kill -9`` podtask exactly there.

Crash-consistency claims ("a kill -9 between these two writes leaves nothing
behind") are only worth what their tests show, and a kill sent after a sleep
lands anywhere.  ``pause_for_tests("name")`` stops the process (SIGSTOP) when
``PODTASK_TEST_STOP_AT`` names that point, so the test waits for the stopped
state and then kills.  It is inert outside pytest: the variable is read only
while ``PYTEST_CURRENT_TEST`` is set too (pytest sets it; subprocesses inherit).
"""

from __future__ import annotations

import os
import signal

STOP_AT_ENV = "PODTASK_TEST_STOP_AT"


def pause_for_tests(point: str) -> None:
    """Stop this process here if a test asked for it (see the module docstring)."""
    if "PYTEST_CURRENT_TEST" in os.environ and os.environ.get(STOP_AT_ENV) == point:
        os.kill(os.getpid(), signal.SIGSTOP)
