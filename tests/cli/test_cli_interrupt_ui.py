"""``podtask ui`` ends with 130 on Ctrl-C, as README's exit codes say (review item 15)."""

from __future__ import annotations

import signal
import subprocess
import time

import pytest

from tests.cli.conftest import PODTASK_SCRIPT


@pytest.mark.parametrize("serving_for", [0.0, 1.0])
def test_ctrl_c_stops_the_ui_with_130(serving_for: float) -> None:
    proc = subprocess.Popen(
        [str(PODTASK_SCRIPT), "ui", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    seen = [proc.stdout.readline() for _ in range(2)]  # "podtask ui: the runs in", the URL
    assert seen[1].strip().startswith("http://127.0.0.1:"), (seen, proc.communicate(timeout=30))
    time.sleep(serving_for)  # the server idles; how long it has served is the variable
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, (seen, out, err)
    assert "podtask ui: stopped" in err, err
    assert "Traceback" not in err, err
