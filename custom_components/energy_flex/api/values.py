"""Tolerant reading of device values, shared by every client."""

from __future__ import annotations

import math


def as_number(raw: object) -> float | None:
    """Return a finite number from a device value, or `None` when it is not one.

    Devices send numbers, numeric strings, null, NaN; booleans are not numbers here.
    """
    if isinstance(raw, bool) or raw is None:
        return None
    if isinstance(raw, int | float):
        value = float(raw)
    elif isinstance(raw, str):
        try:
            value = float(raw.strip())
        except ValueError:
            return None
    else:
        return None
    return value if math.isfinite(value) else None


def as_enum[T](raw: object, options: dict[int, T]) -> T | None:
    """Map an integer option value to its member; unknown values become `None`."""
    number = as_number(raw)
    if number is None or not number.is_integer():
        return None
    return options.get(int(number))
