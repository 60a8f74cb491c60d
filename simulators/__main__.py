"""Run the simulators until SIGINT/SIGTERM: `python -m simulators [--only CONN] [...]`."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

from . import fems_cloud, fems_modbus, fems_rest, flexconnect, powerflex, sonnen
from .cli import RunningSimulator, SimulatorCli

# One line per simulator module; each brings its own options and start-up.
REGISTRY: tuple[SimulatorCli, ...] = (
    fems_rest.CLI,
    fems_modbus.CLI,
    flexconnect.CLI,
    sonnen.CLI,
    powerflex.CLI,
    fems_cloud.CLI,
)


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows each flag's default, except where there is none to show (None, False)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default in (None, False):
            return action.help
        return super()._get_help_string(action)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m simulators",
        description="Energy Flex vendor simulators",
        formatter_class=_HelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument(
        "--only",
        action="append",
        choices=[simulator.name for simulator in REGISTRY],
        metavar="CONNECTION",
        help="start only this connection's simulator (repeatable; default: all of them), "
        f"one of {', '.join(simulator.name for simulator in REGISTRY)}",
    )
    for simulator in REGISTRY:
        simulator.add_arguments(parser)
    return parser


async def _run(args: argparse.Namespace) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    running: list[RunningSimulator] = []
    selected = [sim for sim in REGISTRY if args.only is None or sim.name in args.only]
    try:
        for simulator in selected:
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
