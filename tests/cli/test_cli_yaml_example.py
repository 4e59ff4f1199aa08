"""examples/yaml_example.py ends as soon as its primary does (review item 12).

Its sidecar runs "forever" (``sleep 1000``) behind ``sh -c``; a shell as PID 1
ignored the pod's SIGTERM, so every run of the example waited out the whole
30 s grace period -- the very pitfall the README warns about.
"""

from __future__ import annotations

import json
import time

from tests.cli.conftest import run_script
from tests.conftest import EXAMPLES

GRACE_S = 30  # the example pod's (default) terminationGracePeriodSeconds


def test_the_yaml_example_does_not_wait_out_the_grace_period(needs_root: None) -> None:
    began = time.monotonic()
    done = run_script("run", str(EXAMPLES / "yaml_example.py"), "--json")
    took = time.monotonic() - began
    assert done.returncode == 0, done
    doc = json.loads(done.stdout)
    assert doc["outputs"] == {"content": "fetched from-the-pod-spec"}, doc
    assert "ignored SIGTERM" not in done.stderr, done.stderr
    fetcher = next(c for c in doc["containers"] if c["name"] == "fetcher")
    assert fetcher["exit_code"] == 0, fetcher  # it ended on the SIGTERM, not by SIGKILL
    assert took < GRACE_S / 3, took
