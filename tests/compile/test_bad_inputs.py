"""Every bad input is exit 2 with a message that names the offending field; nothing is written."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run_cli

LEGACY = (
    "from podtask.sdk.tasks import inputs, outputs, python_task, sidecar_task\n"
    "from podtask.sdk.types import Types\n"
)
MODERN = "import podtask\n"


def sidecar(spec: str, primary: str = "'primary'", extra: str = "") -> str:
    return (
        LEGACY
        + f"@sidecar_task(pod_spec={spec}, primary_container_name={primary}{extra})\n"
        + "def t(wf_params):\n    pass\n"
    )


SIDE = "{'name': 'side', 'command': ['sh']"
CASES: list[tuple[str, str, str]] = [
    ("empty-primary", sidecar("{'containers': []}", "''"), "primary_container_name"),
    ("primary-not-dns", sidecar("{'containers': []}", "'Primary_1'"), "primary_container_name"),
    (
        "container-name-invalid",
        sidecar("{'containers': [{'name': 'Side Car', 'command': ['sh']}]}"),
        "pod_spec.containers[0].name",
    ),
    (
        "container-name-duplicate",
        sidecar("{'containers': [" + SIDE + "}, " + SIDE + "}]}"),
        "pod_spec.containers[1].name",
    ),
    (
        "init-name-invalid",
        sidecar("{'containers': [], 'initContainers': [{'name': 'in_it', 'command': ['true']}]}"),
        "pod_spec.initContainers[0].name",
    ),
    (
        "init-name-clashes",
        sidecar("{'containers': [" + SIDE + "}], 'initContainers': [" + SIDE + "}]}"),
        "pod_spec.initContainers[0].name",
    ),
    (
        "mount-unknown-volume",
        sidecar(
            "{'containers': [{'name': 'primary', 'volumeMounts': [{'name': 'data', 'mountPath': '/data'}]}]}"
        ),
        "pod_spec.containers[0].volumeMounts[0].name",
    ),
    (
        "volume-duplicate",
        sidecar(
            "{'containers': [], 'volumes': [{'name': 'v', 'emptyDir': {}}, {'name': 'v', 'emptyDir': {}}]}"
        ),
        "pod_spec.volumes[1].name",
    ),
    (
        "task-quantity-10x",
        sidecar("{'containers': []}", extra=", cpu_request='10x'"),
        "cpu_request",
    ),
    (
        "task-quantity-negative",
        sidecar("{'containers': []}", extra=", memory_limit='-1'"),
        "memory_limit",
    ),
    (
        "task-request-above-limit",
        sidecar("{'containers': []}", extra=", cpu_request='2', cpu_limit='1'"),
        "cpu_request",
    ),
    (
        "sidecar-quantity-invalid",
        sidecar("{'containers': [" + SIDE + ", 'resources': {'limits': {'cpu': 'lots'}}}]}"),
        "pod_spec.containers[0].resources.limits.cpu",
    ),
    (
        "sidecar-request-above-limit",
        sidecar(
            "{'containers': ["
            + SIDE
            + ", 'resources': {'requests': {'memory': '2Gi'}, 'limits': {'memory': '1Gi'}}}]}"
        ),
        "pod_spec.containers[0].resources.requests.memory",
    ),
    (
        "task-env-name",
        sidecar("{'containers': []}", extra=", environment={'1BAD': 'x'}"),
        "environment.1BAD",
    ),
    (
        "sidecar-env-name",
        sidecar("{'containers': [" + SIDE + ", 'env': [{'name': 'A B', 'value': '1'}]}]}"),
        "pod_spec.containers[0].env[0].name",
    ),
    (
        "inputs-not-a-parameter",
        LEGACY + "@inputs(in2=Types.String)\n@python_task\ndef t(wf_params, in1):\n    pass\n",
        "@inputs.in2",
    ),
    (
        "outputs-collide-with-inputs",
        LEGACY
        + "@inputs(x=Types.String)\n@outputs(x=Types.String)\n@python_task\ndef t(wf_params, x):\n    pass\n",
        "@inputs.x",
    ),
    (
        "type-not-a-Types-member",
        LEGACY + "@inputs(a=str)\n@python_task\ndef t(wf_params, a):\n    pass\n",
        "@inputs.a",
    ),
    (
        "parameter-undeclared",
        LEGACY + "@inputs(a=Types.Integer)\n@python_task\ndef t(wf_params, a, b):\n    pass\n",
        "t.b",
    ),
    ("pod-spec-unsupported-type", sidecar("42"), "pod_spec"),
    ("pod-spec-yaml-missing", sidecar("'no-such-file.yaml'"), "pod_spec"),
    ("schema-unknown-field", sidecar("{'containers': [" + SIDE + ", 'bogus': 1}]}"), "bogus"),
    ("modern-no-type-hint", MODERN + "@podtask.task\ndef t(x):\n    pass\n", "t.x"),
    (
        "modern-unsupported-type",
        MODERN + "@podtask.task\ndef t(x: set) -> None:\n    pass\n",
        "t.x",
    ),
    (
        "modern-negative-retries",
        MODERN + "@podtask.task(retries=-1)\ndef t() -> None:\n    pass\n",
        "t.retries",
    ),
    (
        "modern-bad-label",
        MODERN + "@podtask.task(pod=podtask.Pod(spec={'containers': []}, labels={'a b': 'x'}))\n"
        "def t() -> None:\n    pass\n",
        "labels.a b",
    ),
    (
        "modern-bad-sidecar-failure",
        MODERN
        + "@podtask.task(pod=podtask.Pod(spec={'containers': []}, sidecar_failure='maybe'))\n"
        "def t() -> None:\n    pass\n",
        "t.sidecar_failure",
    ),
    (
        "mount-path-relative",
        sidecar(
            "{'containers': [{'name': 'primary', 'volumeMounts': [{'name': 'v', 'mountPath': 'data'}]}],"
            " 'volumes': [{'name': 'v', 'emptyDir': {}}]}"
        ),
        "pod_spec.containers[0].volumeMounts[0].mountPath",
    ),
]


def test_there_are_at_least_twenty_cases() -> None:
    assert len(CASES) >= 20


@pytest.mark.parametrize(("name", "source", "field"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_exits_2_naming_the_field(
    tmp_path: Path, name: str, source: str, field: str
) -> None:
    module = tmp_path / f"bad_{name.replace('-', '_')}.py"
    module.write_text(source)
    out = tmp_path / "out"
    r = run_cli("compile", str(module), "-o", str(out))
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert r.stderr.startswith("error: "), r.stderr
    assert field in r.stderr, r.stderr
    assert "Traceback" not in r.stderr
    assert not out.exists() or not any(out.iterdir())


def test_unknown_task_name_lists_the_tasks(tmp_path: Path) -> None:
    module = tmp_path / "two.py"
    module.write_text(
        MODERN + "@podtask.task\ndef a() -> None: ...\n@podtask.task\ndef b() -> None: ...\n"
    )
    r = run_cli("compile", str(module), "--task", "c")
    assert r.returncode == 2
    assert "a, b" in r.stderr


def test_missing_file_is_exit_2() -> None:
    r = run_cli("compile", "does-not-exist.py")
    assert r.returncode == 2
    assert "does-not-exist.py" in r.stderr
