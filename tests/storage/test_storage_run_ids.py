from __future__ import annotations

import re

import pytest

from podtask._storage import is_dns1123_label, new_run_id, sanitize_task_name

ID_RE = re.compile(r"^(?P<task>[a-z0-9-]+)-(\d{8})-(\d{6})-(\d{6})-([0-9a-f]{6})$")


def test_format_example() -> None:
    run_id = new_run_id("my_sidecar_task")
    match = ID_RE.match(run_id)
    assert match, run_id
    assert match["task"] == "my-sidecar-task"
    assert is_dns1123_label(run_id)


@pytest.mark.parametrize(
    ("name", "front"),
    [
        ("My_Sidecar.Task", "task"),  # dotted: last part only
        ("pkg.module.train_model", "train-model"),
        ("__weird__--name!!", "weird-name"),
        ("", "task"),
        ("___", "task"),
        ("Ünïcode-τask", "n-code-ask"),
    ],
)
def test_sanitize(name: str, front: str) -> None:
    assert sanitize_task_name(name) == front
    assert is_dns1123_label(new_run_id(name))


def test_long_name_truncated_to_63() -> None:
    run_id = new_run_id("a" * 40 + "_" + "b" * 100)
    assert len(run_id) <= 63
    assert is_dns1123_label(run_id)
    # A cut that lands on a separator must not leave "--" or a trailing "-".
    for n in range(20, 45):
        assert is_dns1123_label(new_run_id("x" * n + "-" + "y" * 60))


def test_1000_unique_and_sorted_by_creation() -> None:
    ids = [new_run_id("task") for _ in range(1000)]
    assert len(set(ids)) == 1000
    assert ids == sorted(ids)
    assert all(len(i) <= 63 and is_dns1123_label(i) for i in ids)


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("main", True),
        ("a-1", True),
        ("1abc", True),
        ("a" * 63, True),
        ("a" * 64, False),
        ("", False),
        ("-a", False),
        ("a-", False),
        ("A", False),
        ("a_b", False),
        ("../x", False),
        ("a/b", False),
        ("a.b", False),
    ],
)
def test_dns1123_label(name: str, ok: bool) -> None:
    assert is_dns1123_label(name) is ok
