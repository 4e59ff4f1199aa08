"""podtask.cli: the ``podtask`` command.

A Ctrl-C must end the command with exit 130 and no traceback however early
it comes. Until a command starts working (``common.handle_errors``), the CLI
is only importing and parsing: nothing exists to clean up, so the first
thing this package does is make SIGINT end the process at once with 130.
Raising from a handler there is not enough: an exception raised inside an
import can surface as another one (``RuntimeError`` from ``__set_name__``).
"""

import os as _os
import signal as _signal
import threading as _threading


def exit_interrupted(_signum: int, _frame: object) -> None:
    """SIGINT before a command has started anything: say so and exit 130 at once."""
    _os.write(2, b"\ninterrupted\n")
    _os._exit(130)


if _threading.current_thread() is _threading.main_thread():  # else: not the CLI starting
    _signal.signal(_signal.SIGINT, exit_interrupted)
