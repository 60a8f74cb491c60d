"""Run every simulator until SIGINT/SIGTERM: `python -m simulators [--host H] [...]`."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

from . import fems_modbus, fems_rest, flexconnect, sonnen
from .cli import RunningSimulator, SimulatorCli

# One line per simulator module; each brings its own options and start-up.
REGISTRY: tuple[SimulatorCli, ...] = (
    fems_rest.CLI,
    fems_modbus.CLI,
    flexconnect.CLI,
    sonnen.CLI,
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m simulators", description="Energy Flex vendor simulators"
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    for simulator in REGISTRY:
        simulator.add_arguments(parser)
    return parser


async def _run(args: argparse.Namespace) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    running: list[RunningSimulator] = []
    try:
        for simulator in REGISTRY:
            try:
                started = await simulator.launch(args)
            except OSError as err:
                print(f"{simulator.name}: cannot start: {err}", file=sys.stderr)
                return 1
            running.append(started)
            print(started.summary, flush=True)
        await stop.wait()
    finally:
        for started in reversed(running):
            await started.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    return asyncio.run(_run(_parser().parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
