"""The contract between `python -m simulators` and each simulator module.

A simulator module exposes one `SimulatorCli`; `__main__` lists them in `REGISTRY`.
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RunningSimulator:
    """A started simulator: what to print for the user and how to stop it."""

    summary: str
    stop: Callable[[], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class SimulatorCli:
    """Command-line hooks of one simulator."""

    name: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    launch: Callable[[argparse.Namespace], Awaitable[RunningSimulator]]
