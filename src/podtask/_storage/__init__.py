"""podtask._storage: where runs live on disk, the lowest layer of podtask.

Run directories (inputs, manifest, outputs, logs, events), atomic file
writes, run ids, and the SQLite run database. It imports only the standard
library, PyYAML and ``podtask._errors``, so every other layer can use it.
"""

from podtask._storage.atomic import dumps_json, read_json, write_atomic, write_json_atomic
from podtask._storage.home import HOME_ENV, podtask_home, schema_cache
from podtask._storage.names import is_dns1123_label, new_run_id, sanitize_task_name
from podtask._storage.procs import current_process_identity, process_alive
from podtask._storage.records import (
    DB_NAME,
    LOST,
    LOST_REASON,
    SCHEMA_VERSION,
    TERMINAL_PHASES,
    ContainerRecord,
    RunRecord,
    RunStore,
)
from podtask._storage.rundir import RunDir

__all__ = [
    "DB_NAME",
    "HOME_ENV",
    "LOST",
    "LOST_REASON",
    "SCHEMA_VERSION",
    "TERMINAL_PHASES",
    "ContainerRecord",
    "RunDir",
    "RunRecord",
    "RunStore",
    "current_process_identity",
    "dumps_json",
    "is_dns1123_label",
    "new_run_id",
    "podtask_home",
    "process_alive",
    "read_json",
    "sanitize_task_name",
    "schema_cache",
    "write_atomic",
    "write_json_atomic",
]
