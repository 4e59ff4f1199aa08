"""Tests that need flytekit: run by scripts/test in its own venv (.venv-flyte).

flytekit brings protobuf 7, which the seed's k8s-proto pod specs load under
only with the pure-Python protobuf runtime: select it before anything imports
protobuf.  In an environment without flytekit every test here is skipped with
the reason (scripts/test runs them in the flyte venv, and fails if it cannot
build that venv).
"""

from __future__ import annotations

import importlib.util
import os

if importlib.util.find_spec("flytekit") is not None:  # leave the core venv's runtime alone
    os.environ.setdefault("PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION", "python")
