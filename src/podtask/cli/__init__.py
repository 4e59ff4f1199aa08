"""podtask.cli: the ``podtask`` command.

A Ctrl-C must end the command with exit 130 and no traceback however early
it comes. Until a command starts working (``common.handle_errors``), the CLI
is only importing and parsing: nothing exists to clean up, so the first
thing this package does is make SIGINT end the process at once with 130.
Raising from a handler there is not enough: an exception raised inside an
import can surface as another one (``RuntimeError`` from ``__set_name__``).
The handler is installed through the C module ``_signal`` before any other
import: ``signal`` itself builds enums for milliseconds, inside the window.
"""

import _signal  # type: ignore[import-not-found]  # no stub; the C half of `signal`
import os as _os


def exit_interrupted(_signum: int, _frame: object) -> None:
    """SIGINT before a command has started anything: say so and exit 130 at once."""
    _os.write(2, b"\ninterrupted\n")
    _os._exit(130)


try:  # noqa: SIM105 - contextlib would be one more import inside the window
    _signal.signal(_signal.SIGINT, exit_interrupted)
except ValueError:  # imported from a thread other than the main one: not the CLI starting
    pass
