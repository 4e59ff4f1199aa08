"""``wf_params``: what a legacy task function receives first.

The seed's functions take ``wf_params`` and use its logger and working
directory; the run id and attempt let a task name its own artifacts.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class WorkflowParams:
    execution_id: str  # the podtask run id
    attempt: int  # 1 for the first attempt, 2 for the first retry, ...
    working_directory: Path  # a scratch directory private to this attempt
    logger: logging.Logger
    task_name: str

    @property
    def run_id(self) -> str:
        return self.execution_id


def make_logger(task_name: str) -> logging.Logger:
    logger = logging.getLogger(f"podtask.task.{task_name}")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    return logger
