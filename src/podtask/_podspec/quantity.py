"""Kubernetes resource quantities ("500m", "1Gi", "1e3") parsed exactly.

Quantities are parsed into :class:`decimal.Decimal` rather than float so that
comparisons such as "request <= limit" give the same answer the API server
gives: ``0.1`` CPU must not become ``0.1000000000000000055``.

Grammar (Kubernetes ``resource.Quantity``)::

    quantity  ::= signedNumber suffix
    number    ::= digits | digits "." digits | digits "." | "." digits
    suffix    ::= binarySI | decimalSI | ("e" | "E") signedInteger
    binarySI  ::= Ki | Mi | Gi | Ti | Pi | Ei
    decimalSI ::= n | u | m | "" | k | M | G | T | P | E
"""

from __future__ import annotations

import decimal
import math
import re

from podtask._errors import SpecError

_BINARY = {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}

_QUANTITY = re.compile(
    r"""
    (?P<number>[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))
    (?:
        (?P<binary>Ki|Mi|Gi|Ti|Pi|Ei)
      | [eE](?P<exponent>[+-]?[0-9]+)
      | (?P<decimal>[numkMGTPE]?)
    )
    """,
    re.VERBOSE,
)

# Enough precision that "999Ei" or "1n" never round.
_CONTEXT = decimal.Context(prec=60)
# Far beyond any real resource, but keeps Decimal arithmetic from overflowing.
_MAX_EXPONENT = 1000

_HINT = 'use a number with an optional suffix, e.g. "500m", "2", "1.5", "128Mi", "1Gi" or "1e3"'


def parse_quantity(
    value: str | int | float, *, field: str, allow_negative: bool = False
) -> decimal.Decimal:
    """Return the exact value of a Kubernetes quantity, or raise SpecError naming ``field``.

    Resource requests and limits cannot be negative, so negatives are refused
    unless ``allow_negative`` is set (quantities elsewhere may be signed).
    """
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise SpecError(
            f"{value!r} is not a quantity (got {type(value).__name__})", field=field, hint=_HINT
        )
    if isinstance(value, float) and not math.isfinite(value):
        raise SpecError(f"{value!r} is not a finite quantity", field=field, hint=_HINT)
    # repr() of a finite float ("0.5", "1e-05", "1e+20") is itself a valid quantity,
    # and goes through the same exact decimal path as a string would.
    text = value if isinstance(value, str) else repr(value)
    match = _QUANTITY.fullmatch(text)
    if match is None:
        raise SpecError(f"{value!r} is not a valid Kubernetes quantity", field=field, hint=_HINT)
    if match["exponent"] is not None and abs(int(match["exponent"])) > _MAX_EXPONENT:
        raise SpecError(f"{value!r} is out of range", field=field, hint=_HINT)
    result = _scaled(match)
    if result < 0 and not allow_negative:
        raise SpecError(
            f"{value!r} is negative; resource quantities must be zero or more", field=field
        )
    return result


def _scaled(match: re.Match[str]) -> decimal.Decimal:
    number = decimal.Decimal(match["number"])
    if match["binary"]:
        return _CONTEXT.multiply(number, decimal.Decimal(1024) ** _BINARY[match["binary"]])
    if match["exponent"] is not None:
        return _CONTEXT.multiply(number, _CONTEXT.power(10, int(match["exponent"])))
    return number.scaleb(_DECIMAL[match["decimal"] or ""], _CONTEXT)


def quantity_to_bytes(value: str | int | float, *, field: str) -> int:
    """Return a memory quantity as whole bytes, rounding up (``"1.5"`` -> 2).

    Rounding up matters for limits: a limit must never shrink below what the
    user asked for when it is handed to a runtime that counts bytes.
    """
    quantity = parse_quantity(value, field=field)
    return int(quantity.to_integral_value(rounding=decimal.ROUND_CEILING))


__all__ = ["parse_quantity", "quantity_to_bytes"]
