"""The pod driver against a scripted runtime: what it starts, signals and records, and when."""

from __future__ import annotations

import signal
import time
from collections import deque
from collections.abc import Sequence
from typing import Any

from podtask._lifecycle import INIT, NATIVE_SIDECAR, REGULAR, RUNNING, TERMINATED
from podtask.engines._kubelet.driver import PodDriver
from podtask.engines._kubelet.port import EXITED, STARTED, ContainerRef, RuntimeEvent


class ScriptedRuntime:
    """Starts succeed at once; exits happen when the test says (or on a signal, if obeyed)."""

    def __init__(self, obeys: Sequence[str] = ()) -> None:
        self.events: deque[RuntimeEvent] = deque()
        self.started: list[list[str]] = []
        self.signals: list[tuple[str, str]] = []
        self.obeys = set(obeys)
        self.probe_answers: dict[str, list[tuple[bool, str]]] = {}

    def start(self, names: Sequence[str]) -> None:
        self.started.append(list(names))
        for n in names:
            self.events.append(RuntimeEvent(STARTED, n, time.time()))

    def signal(self, names: Sequence[str], sig: int) -> None:
        for n in names:
            self.signals.append((n, signal.Signals(sig).name))
            if n in self.obeys or sig == signal.SIGKILL:
                code = 128 + sig
                self.events.append(RuntimeEvent(EXITED, n, time.time(), exit_code=code))

    def next_event(self, timeout: float) -> RuntimeEvent | None:
        return self.events.popleft() if self.events else None

    def probe(self, name: str, spec: dict[str, Any], timeout: float) -> tuple[bool, str]:
        answers = self.probe_answers.get(name) or [(True, "")]
        return answers.pop(0) if len(answers) > 1 else answers[0]

    def exit(self, name: str, code: int, at: float | None = None) -> None:
        self.events.append(RuntimeEvent(EXITED, name, at or time.time(), exit_code=code))


def container(name: str, kind: str = REGULAR, **spec: Any) -> ContainerRef:
    return ContainerRef(name, kind, {"name": name, **spec}, f"spec.containers[{name}]")


def driver(runtime: ScriptedRuntime, *cs: ContainerRef, **kw: Any) -> tuple[PodDriver, list[Any]]:
    events: list[dict[str, Any]] = []
    d = PodDriver(runtime, cs, primary="main", grace=0.3, on_event=events.append, **kw)
    return d, events


def test_start_order_init_then_native_sidecar_then_regular_with_the_primary_last() -> None:
    rt = ScriptedRuntime()
    d, _ = driver(
        rt,
        container("setup", INIT),
        container("proxy", NATIVE_SIDECAR),
        container("main"),
        container("helper"),
    )
    d.step(0)
    assert rt.started == [["setup"]]  # the init container must finish first
    d.step(0)
    assert rt.started == [["setup"]]
    rt.exit("setup", 0)
    for _ in range(3):
        d.step(0)
    assert rt.started == [["setup"], ["proxy"], ["helper", "main"]]


def test_a_container_that_exited_before_the_stop_signal_is_not_recorded_as_stopped() -> None:
    """Issue 8 item 10: a sidecar that exited 0 on its own showed a SIGTERM it never got."""
    rt = ScriptedRuntime(obeys=["late"])
    d, events = driver(rt, container("main"), container("early"), container("late"))
    d.step(0)
    d.step(0)
    assert d.status["early"].state == RUNNING
    before = time.time()
    time.sleep(0.01)
    # "early" exits by itself; its exit is only reported after the teardown's signal went out.
    real_signal = rt.signal

    def signal_then_report(names: Sequence[str], sig: int) -> None:
        real_signal(names, sig)
        if "early" in names:
            rt.exit("early", 0, at=before)

    rt.signal = signal_then_report  # type: ignore[method-assign]
    d.teardown(0.3, include_primary=True)
    early, late = d.status["early"], d.status["late"]
    assert early.state == TERMINATED and early.exit_code == 0
    assert not early.stopped_by_us and "early" not in d.stop_at
    assert late.stopped_by_us and "late" in d.stop_at
    stops = [(e["container"], e["signal"]) for e in events if e["event"] == "stop-signal"]
    assert ("early", "SIGTERM") not in stops
    assert ("late", "SIGTERM") in stops
    times = [e["time"] for e in events]
    assert times == sorted(times)  # the stop signal, known only at the exit, is not late


def test_failed_liveness_probe_kills_gracefully_with_the_kubelets_words() -> None:
    rt = ScriptedRuntime(obeys=["main"])
    probe = {"exec": {"command": ["false"]}, "periodSeconds": 0, "failureThreshold": 2}
    d, events = driver(rt, container("main", livenessProbe=probe), container("side"))
    rt.probe_answers["main"] = [(False, "nope")]
    for _ in range(4):
        d.step(0)
    assert ("main", "SIGTERM") in rt.signals  # SIGTERM first, as the kubelet kills
    main = d.status["main"]
    assert main.state == TERMINATED
    assert main.unhealthy == "Liveness probe failed: nope"
    assert main.message is None  # a kubelet says why only in events, never in the status
    said = {e["event"]: e["message"] for e in events if e["event"] in ("unhealthy", "killing")}
    assert said == {
        "unhealthy": "Liveness probe failed: nope",
        "killing": "Container main failed liveness probe",
    }


def test_native_sidecar_is_restarted_with_back_off_until_teardown() -> None:
    rt = ScriptedRuntime(obeys=["proxy", "main"])
    d, _ = driver(rt, container("proxy", NATIVE_SIDECAR), container("main"))
    d.step(0)
    d.step(0)
    rt.exit("proxy", 1)
    d.step(0)
    assert "proxy" in d.restart_at
    d.restart_at["proxy"] = 0  # due now
    d.step(0)
    d.step(0)
    assert d.status["proxy"].restart_count == 1 and d.status["proxy"].state == RUNNING
    d.teardown(0.3)
    assert d.restart_at == {}
