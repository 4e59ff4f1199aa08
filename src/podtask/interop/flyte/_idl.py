"""Import flyteidl on demand, with an install hint instead of a bare ImportError.

The seed's k8s-proto pod specs were generated for protobuf 3 and load next to
flyteidl (protobuf >= 4.21) only with the pure-Python protobuf runtime, so that
runtime is selected here unless the user chose one, before protobuf is first
imported.
"""

from __future__ import annotations

import os
import sys
from types import ModuleType

from podtask._errors import SpecError

PROTOBUF_ENV = "PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION"
INSTALL_HINT = "pip install 'podtask[flyte]'"


def prefer_pure_python_protobuf() -> None:
    """Let k8s-proto (protobuf 3 era) and flyteidl share one process.

    Has an effect only before ``google.protobuf`` is imported.
    """
    if "google.protobuf" not in sys.modules:
        os.environ.setdefault(PROTOBUF_ENV, "python")


def idl(module: str) -> ModuleType:
    """``idl("core.tasks_pb2")`` -> ``flyteidl.core.tasks_pb2``, or a SpecError with the fix."""
    import importlib

    prefer_pure_python_protobuf()
    try:
        return importlib.import_module(f"flyteidl.{module}")
    except ImportError as exc:
        raise SpecError(
            f"Flyte support needs flyteidl, which is not installed ({exc})",
            hint=INSTALL_HINT,
        ) from exc
