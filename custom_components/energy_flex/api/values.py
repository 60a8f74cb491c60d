"""Tolerant reading of device answers and values, shared by every client."""

from __future__ import annotations

import json
import math


def parse_json(body: bytes) -> object:
    """Decode a device's JSON answer; `ValueError` for anything that is not usable JSON.

    A number too long for Python's integer parser (over 4300 digits) becomes a float
    (infinite), so it spoils one value, not the whole answer; nesting too deep for the
    parser is not JSON either. NaN and Infinity are accepted here and rejected per value.
    """
    try:
        try:
            return json.loads(body)
        except json.JSONDecodeError:
            raise
        except ValueError:
            # Python's integer digit limit; parsed again with a Python call per integer,
            # which only such an answer pays.
            return json.loads(body, parse_int=_parse_int)
    except RecursionError as err:
        raise ValueError("JSON nested too deeply") from err


def _parse_int(text: str) -> int | float:
    try:
        return int(text)
    except ValueError:
        return float(text)  # only ever far too large: ±inf


def as_number(raw: object) -> float | None:
    """Return a finite number from a device value, or `None` when it is not one.

    Devices send numbers, numeric strings, null, NaN; booleans are not numbers here.
    An integer beyond any float (hundreds of digits) is not a number either.
    """
    if isinstance(raw, bool) or raw is None:
        return None
    try:
        if isinstance(raw, int | float):
            value = float(raw)
        elif isinstance(raw, str):
            value = float(raw.strip())
        else:
            return None
    except ValueError, OverflowError:
        return None
    return value if math.isfinite(value) else None


def as_enum[T](raw: object, options: dict[int, T]) -> T | None:
    """Map an integer option value to its member; unknown values become `None`."""
    number = as_number(raw)
    if number is None or not number.is_integer():
        return None
    return options.get(int(number))
