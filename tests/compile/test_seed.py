"""The seed's examples compile as the seed's registration rules say (issue acceptance 1, 2, 4)."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from podtask._authoring import load_tasks
from podtask._compile import compile_task
from podtask.cli.compile_cmd import compile_file
from tests.conftest import EXAMPLES, run_cli

pb2 = pytest.importorskip("k8s.io.api.core.v1.generated_pb2")


def _container(spec: dict, name: str) -> dict:
    return next(c for c in spec["containers"] if c["name"] == name)


def test_seed_working_example_compiles_to_a_valid_pod(tmp_path: Path) -> None:
    result = run_cli("compile", str(EXAMPLES / "seed_working_example.py"), "-o", str(tmp_path))
    assert result.returncode == 0, result.stderr
    pod = yaml.safe_load((tmp_path / "my_sidecar_task.pod.yaml").read_text())
    spec = pod["spec"]
    # The sidecar is exactly what the user wrote.
    assert _container(spec, "secondary") == {
        "name": "secondary",
        "image": "alpine",
        "command": ["/bin/sh"],
        "args": ["-c", "echo hi sidecar world > /data/message.txt"],
        "volumeMounts": [{"name": "shared-data", "mountPath": "/data"}],
    }
    # Kubernetes JSON, not protobuf's MessageToDict shape.
    assert spec["volumes"] == [{"name": "shared-data", "emptyDir": {"medium": "Memory"}}]
    primary = _container(spec, "primary")
    assert primary["command"] == ["python3", "-m", "podtask.entrypoint"]
    assert primary["args"][:2] == ["--task", "seed_working_example:my_sidecar_task"]
    assert "{{.input}}" in primary["args"] and "{{.outputPrefix}}" in primary["args"]
    assert primary["volumeMounts"] == [{"name": "shared-data", "mountPath": "/data"}]
    assert spec["restartPolicy"] == "Never"


def test_seed_pod_passes_strict_kubernetes_1_30_validation() -> None:
    kv = pytest.importorskip("kubernetes_validate")
    (compiled,) = compile_file(str(EXAMPLES / "seed_working_example.py"), None, None)
    assert compiled.schema_checked
    kv.validate(compiled.manifest, "1.30.0", strict=True)


def test_simple_sidecar_task_gets_the_task_resources_and_env() -> None:
    (compiled,) = compile_file(str(EXAMPLES / "seed_simple_sidecar_task.py"), None, None)
    primary = _container(compiled.manifest["spec"], "primary")
    assert primary["resources"] == {"requests": {"cpu": "10"}, "limits": {"cpu": "20"}}
    assert primary["env"] == [{"name": "foo", "value": "bar"}]
    assert primary["args"][:2] == ["--task", "seed_simple_sidecar_task:simple_sidecar_task"]
    assert compiled.template["interface"] == {
        "inputs": {"in1": {"type": "string"}},
        "outputs": {"out1": {"type": "string"}},
    }
    assert compiled.template["type"] == "sidecar"


def test_output_is_byte_identical_across_runs(tmp_path: Path) -> None:
    outs = []
    for i in range(2):
        d = tmp_path / str(i)
        r = run_cli("compile", str(EXAMPLES / "seed_working_example.py"), "-o", str(d))
        assert r.returncode == 0, r.stderr
        outs.append({p.name: p.read_bytes() for p in sorted(d.iterdir())})
    assert outs[0] == outs[1]
    assert set(outs[0]) == {"my_sidecar_task.task.json", "my_sidecar_task.pod.yaml"}


def test_user_pod_spec_objects_are_not_mutated() -> None:
    _, tasks = load_tasks(EXAMPLES / "seed_working_example.py")
    proto = tasks[0].pod.spec
    before = proto.SerializeToString()
    compile_task(tasks[0])
    assert proto.SerializeToString() == before

    _, typed = load_tasks(EXAMPLES / "typed_example.py")
    greet = next(t for t in typed if t.name == "greet")
    spec_before = copy.deepcopy(greet.pod.spec)
    compile_task(greet)
    assert greet.pod.spec == spec_before


def test_overwritten_primary_fields_warn_once_each(tmp_path: Path) -> None:
    src = tmp_path / "warned.py"
    src.write_text(
        "import podtask\n"
        "@podtask.task(pod=podtask.Pod(spec={'containers': [{'name': 'primary', 'image': 'mine:1',"
        " 'command': ['run'], 'args': ['x'], 'env': [{'name': 'A', 'value': '1'}, {'name': 'B', 'value': 'keep'}],"
        " 'resources': {'limits': {'cpu': '1'}}}]}), env={'A': '2'},"
        " resources=podtask.Resources(cpu='2'))\n"
        "def t() -> None: ...\n"
    )
    r = run_cli("compile", str(src), "-o", str(tmp_path / "out"))
    assert r.returncode == 0, r.stderr
    warnings = [line for line in r.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 5, warnings
    for word in ("image", "command", "args", "resources", "env A"):
        assert sum(word in w for w in warnings) >= 1, (word, warnings)
    pod = yaml.safe_load((tmp_path / "out" / "t.pod.yaml").read_text())
    env = pod["spec"]["containers"][0]["env"]
    assert env == [{"name": "A", "value": "2"}, {"name": "B", "value": "keep"}]


def test_compile_prints_yaml_without_output_dir() -> None:
    r = run_cli("compile", str(EXAMPLES / "typed_example.py"), "--task", "add")
    assert r.returncode == 0, r.stderr
    pod = yaml.safe_load(r.stdout)
    assert pod["kind"] == "Pod" and pod["metadata"]["name"] == "add"


def test_image_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    path = str(EXAMPLES / "typed_example.py")
    monkeypatch.setenv("PODTASK_IMAGE", "env/image:1")
    (c,) = compile_file(path, "add", None)
    assert _container(c.manifest["spec"], "primary")["image"] == "env/image:1"
    (c,) = compile_file(path, "add", "cli/image:2")
    assert _container(c.manifest["spec"], "primary")["image"] == "cli/image:2"


def test_import_podtask_stays_light() -> None:
    code = (
        "import sys, podtask, podtask.sdk.tasks, podtask.sdk.types\n"
        "heavy = [m for m in ('yaml', 'kubernetes', 'google.protobuf', 'k8s', 'kubernetes_validate', 'click')"
        " if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_public_namespace_is_complete() -> None:
    import podtask

    for name in podtask.__all__:
        assert getattr(podtask, name) is not None
    import types

    public = {
        n
        for n in dir(podtask)
        if not n.startswith("_") and not isinstance(getattr(podtask, n), types.ModuleType)
    }
    assert public - {"annotations", "TYPE_CHECKING", "Any"} <= set(podtask.__all__)


def test_every_cli_command_is_reachable() -> None:
    from podtask.cli import (
        bundle_cmd,
        compile_cmd,
        completion_cmd,
        export_cmd,
        flow_cmd,
        kube_cmd,
        prune_cmd,
        run_cmd,
        ui_cmd,
    )
    from podtask.cli.main import COMMANDS, cli

    defined = {
        c.name
        for c in [
            compile_cmd.compile_command,
            export_cmd.export_command,
            *run_cmd.COMMANDS,
            *kube_cmd.COMMANDS,
            prune_cmd.prune_command,
            completion_cmd.completion_command,
            *ui_cmd.COMMANDS,
            *flow_cmd.COMMANDS,
            *bundle_cmd.COMMANDS,
        ]
    }
    assert set(COMMANDS) == defined
    help_text = run_cli("--help").stdout
    for name in defined:
        assert name in help_text
        assert cli.get_command(None, name) is not None  # type: ignore[arg-type]
