"""FEMS/OpenEMS firmware versions and the releases where REST behaviour changed."""

from __future__ import annotations

import re
from typing import Final

type Version = tuple[int, int, int]

# Release that moved to Jetty 12 and HTTP 500 error pages (notes §1.9).
JETTY12: Final[Version] = (2025, 4, 0)
# Energy counters report the cumulated unit `Wh_Σ` from this release on (notes §1.4).
CUMULATED_UNITS: Final[Version] = (2023, 6, 0)
# GET on a write-only channel answers without `value` from here; before, it failed.
WO_CHANNELS_READABLE: Final[Version] = (2023, 1, 0)

_PART = re.compile(r"\d+")


def parse_version(text: str) -> Version:
    """`"2025.4.0"` → (2025, 4, 0); suffixes such as `-SNAPSHOT` are ignored."""
    numbers = [int(match.group()) for match in map(_PART.match, text.split(".")[:3]) if match]
    if not numbers:
        raise ValueError(f"not a firmware version: {text!r}")
    numbers += [0] * (3 - len(numbers))
    return numbers[0], numbers[1], numbers[2]
