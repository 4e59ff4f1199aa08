"""The type model: ``LiteralType`` and the seed-compatible ``Types`` namespace."""

from __future__ import annotations

import datetime as _dt
import pathlib
import types as _pytypes
import typing
from dataclasses import dataclass
from typing import Any, Union

from podtask._errors import SpecError

SIMPLE_KINDS = (
    "string",
    "integer",
    "float",
    "boolean",
    "datetime",
    "timedelta",
    "generic",
    "blob",
    "csv",
    "directory",
)


@dataclass(frozen=True)
class LiteralType:
    """The type of one task input or output.

    ``kind`` is one of ``SIMPLE_KINDS`` or ``"list"``; lists carry ``element``.
    Frozen and hashable so interfaces can be compared and used as dict keys.
    """

    kind: str
    element: LiteralType | None = None

    def __post_init__(self) -> None:
        if self.kind == "list":
            if self.element is None:
                raise SpecError(
                    "a List type needs an element type", hint="write Types.List(Types.Integer)"
                )
        elif self.kind not in SIMPLE_KINDS:
            raise SpecError(f"unknown type kind {self.kind!r}")

    def to_json(self) -> str | dict[str, Any]:
        """The type as it appears in a task template: ``"string"`` or ``{"list": "integer"}``."""
        if self.kind == "list":
            assert self.element is not None
            return {"list": self.element.to_json()}
        return self.kind

    @classmethod
    def from_json(cls, data: Any) -> LiteralType:
        if isinstance(data, str):
            return cls(data)
        if isinstance(data, dict) and set(data) == {"list"}:
            return cls("list", cls.from_json(data["list"]))
        raise SpecError(f"not a task type: {data!r}")

    def __str__(self) -> str:
        if self.kind == "list":
            return f"List[{self.element}]"
        return self.kind.capitalize() if self.kind != "csv" else "CSV"

    # The seed writes ``Types.List(Types.Integer)``; ``Types.List`` is a function
    # there, and these helpers let the other members look like the seed's too.
    def __repr__(self) -> str:
        return f"Types.{self}" if self.kind != "list" else f"Types.List({self.element!r})"


class Types:
    """The seed's type namespace: ``Types.String``, ``Types.List(Types.Integer)``, ..."""

    String = LiteralType("string")
    Integer = LiteralType("integer")
    Float = LiteralType("float")
    Boolean = LiteralType("boolean")
    Datetime = LiteralType("datetime")
    Timedelta = LiteralType("timedelta")
    Generic = LiteralType("generic")
    Blob = LiteralType("blob")
    CSV = LiteralType("csv")
    # A directory of files: Flyte's multipart blob (flytekit's FlyteDirectory).
    Directory = LiteralType("directory")
    MultiPartBlob = Directory  # the name Flyte's legacy SDK gave it

    @staticmethod
    def List(element: LiteralType) -> LiteralType:
        if not isinstance(element, LiteralType):
            raise SpecError(
                f"Types.List needs a Types member, got {element!r}",
                hint="write Types.List(Types.Integer)",
            )
        return LiteralType("list", element)


class Directory(pathlib.PosixPath):
    """A directory as a task input or output: the typed API's counterpart of ``Path``.

    A ``Path`` hint means one file; a directory needs its own hint because the
    two travel differently (one file copied vs. a tree, a single vs. a
    multipart blob under Flyte).  An input arrives as a ``Directory`` (it is a
    ``Path``, so ``d / "x.txt"`` and ``d.iterdir()`` work); an output may be a
    ``Directory`` or any path naming an existing directory, whose tree is
    stored with the outputs.
    """

    __slots__ = ()


_HINTS: dict[Any, LiteralType] = {
    str: Types.String,
    int: Types.Integer,
    float: Types.Float,
    bool: Types.Boolean,
    _dt.datetime: Types.Datetime,
    _dt.timedelta: Types.Timedelta,
    dict: Types.Generic,
    pathlib.Path: Types.Blob,
    Directory: Types.Directory,
}


def type_from_hint(hint: Any, *, where: str) -> LiteralType:
    """Map a Python type hint of the modern API to a ``LiteralType``.

    ``where`` names the parameter or output so the error points at it.
    """
    if isinstance(hint, LiteralType):
        return hint
    if hint in _HINTS:
        return _HINTS[hint]
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is typing.Annotated:
        return type_from_hint(args[0], where=where)
    if origin is dict:
        return Types.Generic
    if origin is list and len(args) == 1:
        return Types.List(type_from_hint(args[0], where=where))
    if origin in (Union, _pytypes.UnionType):
        raise SpecError(
            f"union types are not task types ({hint!r})",
            field=where,
            hint="use one concrete type per input and output",
        )
    raise SpecError(
        f"{hint!r} is not a supported task type",
        field=where,
        hint="use str, int, float, bool, datetime, timedelta, dict, Path, Directory "
        "or list[...] of them",
    )
