"""Kubernetes quantities parse exactly as the API server reads them."""

from __future__ import annotations

from decimal import Decimal

import pytest

from podtask import SpecError
from podtask._podspec import parse_quantity, quantity_to_bytes

VALID = [
    ("500m", Decimal("0.5")),
    ("1", Decimal(1)),
    ("0", Decimal(0)),
    (2, Decimal(2)),
    (0.5, Decimal("0.5")),
    (0.1, Decimal("0.1")),  # exact, not 0.1000000000000000055...
    ("0.5", Decimal("0.5")),
    ("1.", Decimal(1)),
    (".5", Decimal("0.5")),
    ("+1", Decimal(1)),
    ("1e3", Decimal(1000)),
    ("1E3", Decimal(1000)),
    ("1.5e3", Decimal(1500)),
    ("1e-3", Decimal("0.001")),
    ("1e+2", Decimal(100)),
    ("100n", Decimal("0.0000001")),
    ("250u", Decimal("0.00025")),
    ("1k", Decimal(1000)),
    ("1M", Decimal(10**6)),
    ("1G", Decimal(10**9)),
    ("1T", Decimal(10**12)),
    ("1P", Decimal(10**15)),
    ("1E", Decimal(10**18)),
    ("1Ki", Decimal(1024)),
    ("1Mi", Decimal(1024**2)),
    ("1Gi", Decimal(1024**3)),
    ("1.5Gi", Decimal(3 * 1024**3) / 2),
    ("1Ti", Decimal(1024**4)),
    ("1Pi", Decimal(1024**5)),
    ("1Ei", Decimal(1024**6)),
]

INVALID = [
    "10x",
    "-1",
    "-500m",
    "",
    " 1",
    "1 ",
    "1 Gi",
    ".",
    "1K",  # kilo is lowercase k
    "1ki",
    "1Gb",
    "1GiB",
    "Gi",
    "e3",
    "1e",
    "1e3.5",
    "1.2.3",
    "--1",
    "1e2000",
    True,
    None,
    float("nan"),
    float("inf"),
    [1],
]


@pytest.mark.parametrize(("text", "expected"), VALID, ids=[repr(v[0]) for v in VALID])
def test_valid_quantity(text: str | int | float, expected: Decimal) -> None:
    assert parse_quantity(text, field="f") == expected


@pytest.mark.parametrize("text", INVALID, ids=[repr(v) for v in INVALID])
def test_invalid_quantity_names_the_field(text: object) -> None:
    with pytest.raises(SpecError) as info:
        parse_quantity(text, field="spec.containers[0].resources.limits.cpu")  # type: ignore[arg-type]
    assert info.value.field == "spec.containers[0].resources.limits.cpu"


def test_negative_allowed_when_asked() -> None:
    assert parse_quantity("-1Ki", field="f", allow_negative=True) == -1024


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1Gi", 1024**3),
        ("128Mi", 128 * 1024**2),
        ("1k", 1000),
        ("1.5", 2),
        ("1500m", 2),
        ("1m", 1),
        (1e3, 1000),
        ("0", 0),
    ],
)
def test_quantity_to_bytes_rounds_up(text: str | int | float, expected: int) -> None:
    assert quantity_to_bytes(text, field="f") == expected


def test_quantity_to_bytes_rejects_garbage() -> None:
    with pytest.raises(SpecError) as info:
        quantity_to_bytes("1GB", field="memory_limit")
    assert info.value.field == "memory_limit"
