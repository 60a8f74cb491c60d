"""PowerFlex poll budgets (DESIGN.md §7): requests and event-loop CPU per poll of one site
with 2, 20 and 200 charging stations; the request count must not grow with the stations.

The simulator runs in a child process (spawned, so nothing is shared), on a clock that
stands still after one minute of reports: every poll reads the same steady-state window
(60 s, a report every 10 s, half the stations charging), so polls are comparable.
Everything talks to 127.0.0.1 only, and every loop is bounded.

    .venv/bin/python -m benchmarks.bench_powerflex            # from the repository root
    .venv/bin/python -m benchmarks.bench_powerflex --devices 2 20 200 --cycles 200

`--devices` is the number of charging stations at the polled site here.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # also run as a plain script

import aiohttp

from benchmarks.common import (
    HOST,
    Poll,
    SimulatorProcess,
    bench_parser,
    environment,
    home_assistant,
    markdown_table,
    p95,
    serve,
    timed_cycle,
    warm_up,
)
from custom_components.energy_flex.api.powerflex import PowerFlexClient
from simulators.powerflex import PowerFlexSimulator
from simulators.powerflex.model import Arrivals

SITE = 3
USERNAME = "bench"
PASSWORD = "bench-password"
# The simulator's clock: fixed, one minute after its first reports.
_T0 = 1_790_000_000.0
_WINDOW_S = 60.0
NOW = _T0 + _WINDOW_S
# Two measurements and the DCM signal; the monthly targets are asked every 10 minutes
# (in the warm-up here), so a measured poll is exactly this many requests.
EXPECTED_REQUESTS = 3


# --- simulator process ------------------------------------------------------------------


def _site_simulator(stations: int) -> PowerFlexSimulator:
    simulator = PowerFlexSimulator(
        sites={SITE: stations, SITE + 1: 2},
        username=USERNAME,
        password=PASSWORD,
        arrivals=Arrivals(enabled=False),
        history_s=2 * _WINDOW_S,
        clock=lambda: _T0,
    )
    for acs_id in range(1, stations + 1, 2):
        simulator.plug_in(SITE, acs_id, max_current_a=16.0)
    simulator.advance(_WINDOW_S)  # one minute of reports, then time stands still
    return simulator


async def _serve(stations: int, conn: Connection) -> None:
    """Child process: one simulator whose site 3 has `stations` stations."""
    await serve(
        conn,
        [_site_simulator(stations)],
        port=lambda s: s.port,
        counts=lambda s: (s.requests.total, dict(s.requests.by_method)),
        reset=lambda s: s.requests.reset(),
    )


# --- measurement --------------------------------------------------------------------------


@dataclass(slots=True)
class RunResult:
    path: str
    stations: int
    cycles: int
    cpu_ms: list[float]
    poll_wall_ms: list[float]
    requests: int

    @property
    def requests_per_poll(self) -> float:
        return self.requests / self.cycles


async def measure(
    path: str, stations: int, poll: Poll, simulators: SimulatorProcess, *, warmup: int, cycles: int
) -> RunResult:
    """One site polled `cycles` times after `warmup` polls, one poll per cycle."""
    await warm_up([poll], warmup, simulators)
    cpu_ms: list[float] = []
    poll_wall_ms: list[float] = []
    for _ in range(cycles):
        cycle = await timed_cycle([poll])
        cpu_ms.append(cycle.cpu_ms)
        poll_wall_ms.extend(cycle.poll_wall_ms)
    ((requests, _methods),) = simulators.counts()
    return RunResult(path, stations, cycles, cpu_ms, poll_wall_ms, requests)


def _client(session: aiohttp.ClientSession, port: int) -> PowerFlexClient:
    return PowerFlexClient(
        session, f"http://{HOST}:{port}", USERNAME, PASSWORD, wall_clock=lambda: NOW
    )


async def run_client(
    simulators: SimulatorProcess, stations: int, *, warmup: int, cycles: int
) -> RunResult:
    """The bare client doing what one poll does: two measurements and the signals."""
    async with aiohttp.ClientSession() as session:
        client = _client(session, simulators.ports[0])

        async def poll() -> None:
            snapshot = await client.async_fetch_site(SITE)
            await client.async_get_external_signals(SITE)
            if len(snapshot.stations) != stations or snapshot.charging_power_w is None:
                raise RuntimeError("incomplete snapshot")

        return await measure(
            "PowerFlexClient", stations, poll, simulators, warmup=warmup, cycles=cycles
        )


async def run_entry(
    simulators: SimulatorProcess, stations: int, *, warmup: int, cycles: int
) -> RunResult:
    """A loaded Energy Flex entry in a running Home Assistant: the coordinator's refresh
    with every entity of the site and its stations writing its state."""
    from homeassistant import loader  # noqa: PLC0415
    from homeassistant.const import CONF_PASSWORD, CONF_URL, CONF_USERNAME  # noqa: PLC0415
    from homeassistant.helpers.aiohttp_client import DATA_RESOLVER  # noqa: PLC0415
    from pytest_homeassistant_custom_component.common import MockConfigEntry  # noqa: PLC0415

    import custom_components.energy_flex  # noqa: F401, PLC0415
    from custom_components.energy_flex.const import (  # noqa: PLC0415
        CONF_CONNECTION,
        CONF_SITE_ID,
        DOMAIN,
    )
    from custom_components.energy_flex.vendors.powerflex import setup  # noqa: PLC0415

    async with home_assistant() as hass:
        hass.data.pop(loader.DATA_CUSTOM_COMPONENTS, None)  # find custom_components/
        resolver = aiohttp.ThreadedResolver()
        resolver.real_close = resolver.close  # type: ignore[attr-defined]
        hass.data[DATA_RESOLVER] = resolver
        # The simulator's clock stands still; so does the client's window.
        setup._wall_clock = lambda: NOW  # type: ignore[assignment]
        entry = MockConfigEntry(
            domain=DOMAIN,
            unique_id=f"{HOST}_{SITE}",
            title=f"PowerFlex site {SITE}",
            data={
                CONF_CONNECTION: "powerflex",
                CONF_URL: f"http://{HOST}:{simulators.ports[0]}",
                CONF_USERNAME: USERNAME,
                CONF_PASSWORD: PASSWORD,
                CONF_SITE_ID: SITE,
            },
        )
        entry.add_to_hass(hass)
        if not await hass.config_entries.async_setup(entry.entry_id):
            raise RuntimeError("entry did not load")
        await hass.async_block_till_done()
        coordinator = entry.runtime_data.coordinator
        entities = len(hass.states.async_all())

        async def poll() -> None:
            await coordinator.async_refresh()
            if not coordinator.last_update_success:
                raise RuntimeError("refresh failed") from coordinator.last_exception

        try:
            result = await measure(
                f"Energy Flex entry (HA, {entities} entities)",
                stations,
                poll,
                simulators,
                warmup=warmup,
                cycles=cycles,
            )
        finally:
            await hass.config_entries.async_unload(entry.entry_id)
        return result


# --- report -------------------------------------------------------------------------------


def timing_table(results: Sequence[RunResult]) -> str:
    return markdown_table(
        "Path | Stations | Polls | Requests/poll | Loop CPU/poll median (ms) | "
        "Loop CPU/poll p95 (ms) | Loop CPU/station median (µs) | Poll wall median (ms)",
        "lrrrrrrr",
        (
            (
                r.path,
                r.stations,
                r.cycles,
                f"{r.requests_per_poll:.2f}",
                f"{statistics.median(r.cpu_ms):.2f}",
                f"{p95(r.cpu_ms):.2f}",
                f"{statistics.median(r.cpu_ms) * 1000 / r.stations:.0f}",
                f"{statistics.median(r.poll_wall_ms):.2f}",
            )
            for r in results
        ),
    )


# --- main ---------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = bench_parser(__doc__, warmup=20)
    parser.set_defaults(devices=[2, 20, 200])
    for action in parser._actions:
        if action.dest == "devices":
            action.help = "charging stations at the polled site (one run each)"
    parser.add_argument("--no-hass", action="store_true", help="skip the Home Assistant runs")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.cycles < 2:
        raise SystemExit("too few cycles")
    results: list[RunResult] = []
    started = time.perf_counter()
    for stations in args.devices:
        with SimulatorProcess(_serve, stations) as simulators:
            results.append(
                asyncio.run(
                    run_client(simulators, stations, warmup=args.warmup, cycles=args.cycles)
                )
            )
            if not args.no_hass:
                results.append(
                    asyncio.run(
                        run_entry(simulators, stations, warmup=args.warmup, cycles=args.cycles)
                    )
                )
    print(environment(f"aiohttp {aiohttp.__version__}"))
    print(f"({time.perf_counter() - started:.0f} s)\n")
    print(timing_table(results))
    bad = [r for r in results if r.requests_per_poll != EXPECTED_REQUESTS]
    for r in bad:
        print(f"\nBUDGET: {r.path} with {r.stations} stations sent {r.requests_per_poll} per poll")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
