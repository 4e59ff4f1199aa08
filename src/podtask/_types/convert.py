"""Values <-> JSON literals, and CLI strings -> values, for every ``LiteralType``.

Literals are what goes into ``inputs.json`` and ``outputs.json``: plain JSON,
with datetimes as ISO 8601 strings, timedeltas as seconds, and blobs/CSVs and
directories as paths.  Every function raises ``SpecError`` naming the input or output.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import pathlib
import re
from typing import Any

from podtask._errors import SpecError
from podtask._types.model import Directory, LiteralType

_TRUE = {"true", "1", "yes", "y", "on"}
_FALSE = {"false", "0", "no", "n", "off"}
_DURATION = re.compile(
    r"^(?:(?P<h>\d+(?:\.\d+)?)h)?(?:(?P<m>\d+(?:\.\d+)?)m)?(?:(?P<s>\d+(?:\.\d+)?)s)?$"
)


def _fail(name: str, t: LiteralType, value: Any, hint: str | None = None) -> SpecError:
    return SpecError(f"expected {t}, got {value!r}", field=name, hint=hint)


def to_literal(value: Any, t: LiteralType, *, name: str) -> Any:
    """Check ``value`` against ``t`` and return its JSON form."""
    k = t.kind
    if k == "string":
        if isinstance(value, str):
            return value
    elif k == "integer":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif k == "float":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if not math.isfinite(float(value)):
                raise _fail(name, t, value, "JSON cannot hold NaN or infinity")
            return float(value)
    elif k == "boolean":
        if isinstance(value, bool):
            return value
    elif k == "datetime":
        if isinstance(value, _dt.datetime):
            return value.isoformat()
    elif k == "timedelta":
        if isinstance(value, _dt.timedelta):
            return value.total_seconds()
    elif k == "generic":
        if isinstance(value, dict):
            try:
                # A round trip proves the value is JSON; sort_keys keeps it canonical.
                return json.loads(json.dumps(value, sort_keys=True))
            except (TypeError, ValueError) as exc:
                raise _fail(name, t, value, "a Generic must be a JSON object") from exc
    elif k in ("blob", "csv", "directory"):
        if isinstance(value, (str, pathlib.PurePath)):
            return str(value)
    elif k == "list":
        assert t.element is not None
        if isinstance(value, (list, tuple)):
            return [to_literal(v, t.element, name=f"{name}[{i}]") for i, v in enumerate(value)]
    raise _fail(name, t, value)


def from_literal(data: Any, t: LiteralType, *, name: str) -> Any:
    """Turn a JSON literal back into the Python value the task function receives."""
    k = t.kind
    try:
        if k == "datetime":
            return _dt.datetime.fromisoformat(data)
        if k == "timedelta":
            return _dt.timedelta(seconds=float(data))
        if k in ("blob", "csv"):
            return pathlib.Path(data)
        if k == "directory":
            return Directory(data)
        if k == "list":
            assert t.element is not None
            if not isinstance(data, list):
                raise _fail(name, t, data)
            return [from_literal(v, t.element, name=f"{name}[{i}]") for i, v in enumerate(data)]
    except (TypeError, ValueError) as exc:
        raise _fail(name, t, data) from exc
    # Scalars and generics are already in their Python form; check them.
    return _check_scalar(data, t, name)


def _check_scalar(data: Any, t: LiteralType, name: str) -> Any:
    to_literal(data, t, name=name)
    return float(data) if t.kind == "float" else data


def parse_cli_value(text: str, t: LiteralType, *, name: str) -> Any:
    """Parse a ``--name VALUE`` command-line string into the Python value for ``t``."""
    k = t.kind
    try:
        if k == "string":
            return text
        if k == "integer":
            return int(text)
        if k == "float":
            return float(text)
        if k == "boolean":
            low = text.strip().lower()
            if low in _TRUE:
                return True
            if low in _FALSE:
                return False
            raise _fail(name, t, text, "use true or false")
        if k == "datetime":
            return _dt.datetime.fromisoformat(text)
        if k == "timedelta":
            return _parse_duration(text)
        if k in ("blob", "csv"):
            path = pathlib.Path(text).expanduser()
            if not path.exists():
                raise SpecError(
                    f"no such file: {text}", field=name, hint="give the path of an existing file"
                )
            return path.resolve()
        if k == "directory":
            return _existing_directory(text, name)
        if k in ("generic", "list"):
            data = json.loads(text)
            return from_literal(data, t, name=name)
    except json.JSONDecodeError as exc:
        raise _fail(name, t, text, f"write it as JSON ({exc.msg})") from exc
    except ValueError as exc:
        if isinstance(exc, SpecError):
            raise
        hints = {
            "datetime": "use ISO 8601, e.g. 2024-05-01T12:00:00",
            "timedelta": "use seconds (90) or a duration like 1h30m",
        }
        raise _fail(name, t, text, hints.get(k)) from exc
    raise _fail(name, t, text)


def _existing_directory(text: str, name: str) -> Directory:
    path = pathlib.Path(text).expanduser()
    if not path.is_dir():
        what = "not a directory" if path.exists() else "no such directory"
        raise SpecError(
            f"{what}: {text}", field=name, hint="give the path of an existing directory"
        )
    return Directory(path.resolve())


def _parse_duration(text: str) -> _dt.timedelta:
    try:
        return _dt.timedelta(seconds=float(text))
    except ValueError:
        pass
    m = _DURATION.match(text.strip())
    if not m or not any(m.groupdict().values()):
        raise ValueError(text)
    parts = {k: float(v) for k, v in m.groupdict().items() if v}
    return _dt.timedelta(
        hours=parts.get("h", 0), minutes=parts.get("m", 0), seconds=parts.get("s", 0)
    )
