"""Task resource options -> Kubernetes ``resources`` (the names Kubernetes accepts)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from podtask._errors import SpecError
from podtask._podspec import parse_quantity

# option name -> (section, Kubernetes resource name); both API styles' spellings.
_OPTIONS: dict[str, tuple[str, str]] = {
    "cpu_request": ("requests", "cpu"),
    "memory_request": ("requests", "memory"),
    "gpu_request": ("requests", "nvidia.com/gpu"),
    "storage_request": ("requests", "ephemeral-storage"),
    "cpu_limit": ("limits", "cpu"),
    "memory_limit": ("limits", "memory"),
    "gpu_limit": ("limits", "nvidia.com/gpu"),
    "storage_limit": ("limits", "ephemeral-storage"),
    "cpu": ("requests", "cpu"),
    "memory": ("requests", "memory"),
    "gpu": ("requests", "nvidia.com/gpu"),
    "storage": ("requests", "ephemeral-storage"),
}


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def task_resources(options: Mapping[str, Any], *, where: str) -> dict[str, dict[str, str]]:
    """Validate the task's resource options and return ``{"requests": ..., "limits": ...}``.

    Errors name the option the user wrote (``cpu_request``), not the Kubernetes key.
    GPUs cannot be overcommitted in Kubernetes, so a GPU request without a limit
    gets the same limit (otherwise the API server rejects the pod).
    """
    out: dict[str, dict[str, str]] = {"requests": {}, "limits": {}}
    parsed: dict[tuple[str, str], tuple[Decimal, str]] = {}
    for option, value in options.items():
        if option not in _OPTIONS:
            raise SpecError(f"unknown resource option {option!r}", field=f"{where}.{option}")
        section, key = _OPTIONS[option]
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise SpecError(
                f"expected a quantity such as '500m' or '1Gi', got {value!r}",
                field=f"{where}.{option}",
            )
        parsed[(section, key)] = (parse_quantity(value, field=f"{where}.{option}"), option)
        out[section][key] = _text(value)
    for (section, key), (req, option) in parsed.items():
        if section != "requests":
            continue
        limit = parsed.get(("limits", key))
        if limit is not None and req > limit[0]:
            raise SpecError(
                f"request {out['requests'][key]} is above the limit {out['limits'][key]}",
                field=f"{where}.{option}",
                hint=f"lower {option} or raise {limit[1]}",
            )
    gpu = "nvidia.com/gpu"
    if gpu in out["requests"] and gpu not in out["limits"]:
        out["limits"][gpu] = out["requests"][gpu]
    return {k: v for k, v in out.items() if v}
