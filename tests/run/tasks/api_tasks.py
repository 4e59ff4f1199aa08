"""Tasks for the Python front door tests."""

import podtask


@podtask.task
def add(a: int, b: int = 1) -> int:
    return a + b


@podtask.task
def refuses(x: int) -> int:
    raise ValueError(f"no {x}")
