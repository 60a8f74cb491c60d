"""FEMS cloud budgets (DESIGN.md §7): requests and event-loop CPU per poll; a year's backfill.

Polls: one account with 1, 20 and 100 edges, polled through the bare `FemsCloudClient` and
through `EnergyFlexCoordinator` in a test `HomeAssistant`. Every poll must be exactly two
requests (`getEdgesStatus`, `getEdgesChannelsValues`), however many edges there are.

Backfill: `HistoryImporter` imports 365 days of one edge's hourly energy (six counters) into
a real recorder (SQLite in a temporary folder): wall time until the recorder has committed,
event-loop CPU, the longest event-loop stall (a 10 ms heartbeat's worst lateness) and the
peak of Python allocations (tracemalloc, every thread of this process).

The backend simulator runs in a spawned child process, so the CPU time and memory measured
here are the client side's alone. Everything talks to 127.0.0.1 only; every loop is bounded.

    .venv/bin/python -m benchmarks.bench_fems_cloud            # from the repository root
    .venv/bin/python benchmarks/bench_fems_cloud.py --devices 1 20 100 --cycles 200  # edges
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # also run as a plain script

import aiohttp

from benchmarks.common import (
    HOST,
    Poll,
    SimulatorProcess,
    bench_parser,
    coordinator_polls,
    environment,
    home_assistant,
    markdown_table,
    p95,
    serve,
    timed_cycle,
    warm_up,
)
from custom_components.energy_flex.api.fems_cloud import FemsCloudClient
from simulators.fems_cloud import FemsCloudSimulator, default_edges

LOGIN = ("owner@example.com", "owner")
_PATH = "/fems/rest/jsonrpc"
_HEARTBEAT_S = 0.010


# --- simulator process ------------------------------------------------------------------


async def _serve(edges: int, conn: Connection) -> None:
    """Child process: one backend with `edges` edges, counting requests and calls."""
    await serve(
        conn,
        [FemsCloudSimulator(edges=default_edges(edges))],
        port=lambda s: s.port,
        counts=lambda s: (s.requests.total, dict(s.calls)),
        reset=lambda s: s.reset_counters(),
    )


def _url(simulators: SimulatorProcess) -> str:
    return f"http://{HOST}:{simulators.ports[0]}{_PATH}"


def _edge_ids(count: int) -> list[str]:
    return [f"fems{1001 + index}" for index in range(count)]


# --- polls ------------------------------------------------------------------------------


@dataclass(slots=True)
class PollResult:
    path: str
    edges: int
    cycles: int
    cpu_ms: list[float]  # loop-thread CPU of one poll (all edges)
    wall_ms: list[float]
    requests: int
    calls: dict[str, int]

    @property
    def requests_per_poll(self) -> float:
        return self.requests / self.cycles


def _client_poll(client: FemsCloudClient, edge_ids: list[str]) -> Poll:
    async def poll() -> None:
        states = await client.async_fetch(edge_ids)
        if len(states) != len(edge_ids) or states[edge_ids[-1]].snapshot.soc is None:
            raise RuntimeError("incomplete poll")

    return poll


async def _measure(
    path: str, poll: Poll, simulators: SimulatorProcess, edges: int, *, warmup: int, cycles: int
) -> PollResult:
    await warm_up([poll], warmup, simulators)
    cpu_ms: list[float] = []
    wall_ms: list[float] = []
    for _ in range(cycles):
        cycle = await timed_cycle([poll])
        cpu_ms.append(cycle.cpu_ms)
        wall_ms.append(cycle.wall_ms)
    [(requests, calls)] = simulators.counts()
    return PollResult(path, edges, cycles, cpu_ms, wall_ms, requests, calls)


async def run_client(
    simulators: SimulatorProcess, edges: int, *, warmup: int, cycles: int
) -> PollResult:
    """A bare `FemsCloudClient` polling every edge of the account once per cycle."""
    async with aiohttp.ClientSession() as session:
        client = FemsCloudClient(session, *LOGIN, url=_url(simulators))
        poll = _client_poll(client, _edge_ids(edges))
        return await _measure(
            "FemsCloudClient", poll, simulators, edges, warmup=warmup, cycles=cycles
        )


async def run_coordinator(
    simulators: SimulatorProcess, edges: int, *, warmup: int, cycles: int
) -> PollResult:
    """`EnergyFlexCoordinator.async_refresh` of one account in a running `HomeAssistant`."""
    from homeassistant.helpers.aiohttp_client import (  # noqa: PLC0415
        DATA_RESOLVER,
        async_get_clientsession,
    )

    async with home_assistant() as hass:
        # A plain resolver: the hosts are IP addresses, nothing leaves 127.0.0.1.
        resolver = aiohttp.ThreadedResolver()
        resolver.real_close = resolver.close  # type: ignore[attr-defined]
        hass.data[DATA_RESOLVER] = resolver
        client = FemsCloudClient(async_get_clientsession(hass), *LOGIN, url=_url(simulators))
        edge_ids = _edge_ids(edges)

        async def fetch() -> Any:
            return await client.async_fetch(edge_ids)

        with coordinator_polls(hass, [("127.0.0.1/owner@example.com", {}, fetch)]) as polls:
            return await _measure(
                "EnergyFlexCoordinator (HA)",
                polls[0],
                simulators,
                edges,
                warmup=warmup,
                cycles=cycles,
            )


# --- backfill ---------------------------------------------------------------------------


@dataclass(slots=True)
class BackfillResult:
    days: int
    requests: int
    rows: int
    committed_s: float  # until the recorder had written every row
    loop_cpu_s: float
    # Loop CPU per batch (request, parsing, rows, queueing): median and the costliest.
    batch_cpu_median_ms: float
    batch_cpu_max_ms: float
    longest_stall_import_ms: float  # while fetching and queueing (our code on the loop)
    longest_stall_commit_ms: float  # while the recorder's thread writes (it holds the GIL)
    peak_kib: float
    retained_kib: float


async def _heartbeat(lateness: list[tuple[float, float]], stop: asyncio.Event) -> None:
    """How late a 10 ms sleep wakes up (and when): the event loop's stalls."""
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        start = loop.time()
        await asyncio.sleep(_HEARTBEAT_S)
        now = loop.time()
        lateness.append((now, now - start - _HEARTBEAT_S))


def _time_batches(client: FemsCloudClient, importer: Any) -> list[float]:
    """Loop CPU per batch: the history request (with its parsing) plus queueing its rows.

    Only the heartbeat shares the loop meanwhile, so `thread_time` across the awaits is
    the batch's own work.
    """
    timings: list[float] = []
    query = client.query_historic_timeseries_energy_per_period
    add = importer._add  # timing the importer's own step
    started: list[float] = []

    async def timed_query(*args: Any, **kwargs: Any) -> Any:
        started.append(time.thread_time())
        return await query(*args, **kwargs)

    def timed_add(*args: Any) -> None:
        add(*args)
        timings.append((time.thread_time() - started.pop()) * 1000)

    client.query_historic_timeseries_energy_per_period = timed_query  # type: ignore[method-assign]
    importer._add = timed_add
    return timings


@contextlib.asynccontextmanager
async def _hass_with_recorder(folder: Path) -> AsyncIterator[Any]:
    from homeassistant.components.recorder import CONF_DB_URL  # noqa: PLC0415
    from homeassistant.helpers import recorder as recorder_helper  # noqa: PLC0415
    from homeassistant.setup import async_setup_component  # noqa: PLC0415
    from pytest_homeassistant_custom_component.common import (  # noqa: PLC0415
        async_test_home_assistant,
    )

    async with async_test_home_assistant(config_dir=str(folder)) as hass:
        recorder_helper.async_initialize_recorder(hass)
        config = {CONF_DB_URL: f"sqlite:///{folder / 'home-assistant_v2.db'}"}
        if not await async_setup_component(hass, "recorder", {"recorder": config}):
            raise RuntimeError("recorder did not start")
        await hass.async_block_till_done()
        try:
            yield hass
        finally:
            # The test harness does not stop Home Assistant; the recorder's thread must end.
            await hass.async_stop(force=True)


@dataclass(slots=True)
class _BackfillRun:
    requests: int
    rows: int
    committed_s: float
    loop_cpu_s: float
    batch_cpu_ms: list[float]
    lateness: list[tuple[float, float]]
    imported_at: float
    memory: tuple[int, int] | None  # (peak, retained) over the baseline, bytes


async def _backfill_once(simulators: SimulatorProcess, days: int, *, memory: bool) -> _BackfillRun:
    """One edge, `days` days of hourly energy into a fresh recorder database.

    With `memory` tracemalloc traces every allocation, which slows them several times:
    timings come from a run without it.
    """
    from homeassistant.helpers.aiohttp_client import (  # noqa: PLC0415
        DATA_RESOLVER,
        async_get_clientsession,
    )
    from homeassistant.helpers.recorder import get_instance  # noqa: PLC0415
    from pytest_homeassistant_custom_component.common import MockConfigEntry  # noqa: PLC0415

    from custom_components.energy_flex.const import DOMAIN  # noqa: PLC0415
    from custom_components.energy_flex.vendors.fems_cloud.statistics import (  # noqa: PLC0415
        HistoryImporter,
    )

    with tempfile.TemporaryDirectory(prefix="bench-fems-cloud-") as folder:
        async with _hass_with_recorder(Path(folder)) as hass:
            resolver = aiohttp.ThreadedResolver()
            resolver.real_close = resolver.close  # type: ignore[attr-defined]
            hass.data[DATA_RESOLVER] = resolver
            entry = MockConfigEntry(domain=DOMAIN, title="bench")
            entry.add_to_hass(hass)
            client = FemsCloudClient(async_get_clientsession(hass), *LOGIN, url=_url(simulators))
            importer = HistoryImporter(hass, entry, client, _edge_ids(1), days)
            batch_cpu_ms = _time_batches(client, importer)
            simulators.reset()
            instance = get_instance(hass)
            gc.collect()
            if memory:
                tracemalloc.start()
            baseline = tracemalloc.get_traced_memory()[0] if memory else 0
            lateness: list[tuple[float, float]] = []
            stop = asyncio.Event()
            heartbeat = asyncio.create_task(_heartbeat(lateness, stop))
            loop = asyncio.get_running_loop()
            cpu_start = time.thread_time()
            wall_start = time.perf_counter()
            await importer.async_import()
            imported_at = loop.time()
            loop_cpu_s = time.thread_time() - cpu_start
            await instance.async_block_till_done()
            committed_s = time.perf_counter() - wall_start
            stop.set()
            await heartbeat
            used: tuple[int, int] | None = None
            if memory:
                peak = tracemalloc.get_traced_memory()[1]
                gc.collect()
                used = (peak - baseline, tracemalloc.get_traced_memory()[0] - baseline)
                tracemalloc.stop()
            [(requests, _)] = simulators.counts()
            return _BackfillRun(
                requests,
                importer.rows_imported,
                committed_s,
                loop_cpu_s,
                batch_cpu_ms,
                lateness,
                imported_at,
                used,
            )


async def run_backfill(simulators: SimulatorProcess, days: int) -> BackfillResult:
    """A timed run, then a traced run for memory, each into a fresh database."""
    timed = await _backfill_once(simulators, days, memory=False)
    traced = await _backfill_once(simulators, days, memory=True)
    assert traced.memory is not None
    return BackfillResult(
        days=days,
        requests=timed.requests,
        rows=timed.rows,
        committed_s=timed.committed_s,
        loop_cpu_s=timed.loop_cpu_s,
        batch_cpu_median_ms=statistics.median(timed.batch_cpu_ms),
        batch_cpu_max_ms=max(timed.batch_cpu_ms),
        longest_stall_import_ms=max(
            (late for at, late in timed.lateness if at <= timed.imported_at), default=0.0
        )
        * 1000,
        longest_stall_commit_ms=max(
            (late for at, late in timed.lateness if at > timed.imported_at), default=0.0
        )
        * 1000,
        peak_kib=traced.memory[0] / 1024,
        retained_kib=traced.memory[1] / 1024,
    )


# --- report -----------------------------------------------------------------------------


def poll_table(results: Sequence[PollResult]) -> str:
    return markdown_table(
        "Path | Edges | Polls | Requests/poll | Loop CPU/poll median (ms) | "
        "Loop CPU/poll p95 (ms) | Loop CPU/poll and edge median (ms) | Poll wall median (ms)",
        "lrrrrrrr",
        (
            (
                r.path,
                r.edges,
                r.cycles,
                f"{r.requests_per_poll:.2f}",
                f"{statistics.median(r.cpu_ms):.3f}",
                f"{p95(r.cpu_ms):.3f}",
                f"{statistics.median(r.cpu_ms) / r.edges:.3f}",
                f"{statistics.median(r.wall_ms):.2f}",
            )
            for r in results
        ),
    )


def backfill_table(results: Sequence[BackfillResult]) -> str:
    return markdown_table(
        "Days | Requests | Rows | Wall until imported (s) | Loop CPU total (s) | "
        "Loop CPU per batch median (ms) | … costliest batch (ms) | "
        "Longest loop stall while importing (ms) | … after it (ms) | Peak memory (KiB) | "
        "Retained after (KiB)",
        "rrrrrrrrrrr",
        (
            (
                r.days,
                r.requests,
                r.rows,
                f"{r.committed_s:.1f}",
                f"{r.loop_cpu_s:.2f}",
                f"{r.batch_cpu_median_ms:.1f}",
                f"{r.batch_cpu_max_ms:.1f}",
                f"{r.longest_stall_import_ms:.1f}",
                f"{r.longest_stall_commit_ms:.1f}",
                f"{r.peak_kib:.0f}",
                f"{r.retained_kib:.0f}",
            )
            for r in results
        ),
    )


# --- main -------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = bench_parser(__doc__, warmup=20)
    parser.set_defaults(devices=[1, 20, 100])  # a device is an edge of the account
    parser.add_argument("--backfill-days", type=int, default=365, help="0 skips the backfill")
    parser.add_argument("--no-hass", action="store_true", help="skip the coordinator runs")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.cycles < 2:
        raise SystemExit("too few cycles")
    polls: list[PollResult] = []
    for edges in args.devices:
        with SimulatorProcess(_serve, edges) as simulators:
            polls.append(
                asyncio.run(run_client(simulators, edges, warmup=args.warmup, cycles=args.cycles))
            )
            if not args.no_hass:
                polls.append(
                    asyncio.run(
                        run_coordinator(simulators, edges, warmup=args.warmup, cycles=args.cycles)
                    )
                )
    backfills: list[BackfillResult] = []
    if args.backfill_days > 0:
        with SimulatorProcess(_serve, 1) as simulators:
            backfills.append(asyncio.run(run_backfill(simulators, args.backfill_days)))
    print(environment(f"aiohttp {aiohttp.__version__}"))
    if polls:
        print()
        print(poll_table(polls))
    if backfills:
        print()
        print(backfill_table(backfills))
    bad = [r for r in polls if r.requests_per_poll != 2]
    for r in bad:
        print(f"\nBUDGET: {r.path} sent {r.requests_per_poll} requests per poll ({r.calls})")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
