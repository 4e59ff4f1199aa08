"""Which retry budget a failed attempt draws on, read from its verdict (Flyte's split).

``user``: the task's own failure (its code, its outputs, its timeout, OOM):
the task's ``retries``.  ``system``: not the user's fault and worth another
try (eviction, preemption, a pod deleted by someone else, an image pull that
kept failing, a lost pod supervisor): a budget of its own, so that a flaky
node does not use up the retries a user set for their code.  ``None``: a
retry cannot help (a bad spec or image reference, an abort, a success).
"""

from __future__ import annotations

from typing import Literal

from podtask._lifecycle import reasons as r
from podtask._lifecycle.status import TaskPhase, Verdict

Budget = Literal["user", "system"]

DEFAULT_SYSTEM_RETRIES = 3

#: Failures that no retry can fix: the pod spec or the image reference is wrong.
PERMANENT_REASONS = r.PERMANENT_WAITING_REASONS


def retry_budget(verdict: Verdict) -> Budget | None:
    if verdict.phase is not TaskPhase.FAILED or verdict.reason in PERMANENT_REASONS:
        return None
    if verdict.system:
        return "system" if verdict.retryable else None
    return "user"
