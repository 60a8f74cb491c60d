"""FEMS REST poll budgets (DESIGN.md §7): requests, event-loop CPU and memory per device.

The simulators run in a child process (spawned, so nothing is shared), so the CPU time and
the memory measured here are the client's alone. Everything talks to 127.0.0.1 only, and
every loop is bounded.

    .venv/bin/python -m benchmarks.bench_fems_rest            # from the repository root
    .venv/bin/python benchmarks/bench_fems_rest.py --devices 1 20 --cycles 200
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import multiprocessing
import os
import platform
import statistics
import sys
import time
import tracemalloc
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from types import TracebackType
from typing import Any, Self

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # also run as a plain script

import aiohttp

from custom_components.energy_flex.api.fems_rest import FemsRestClient, FemsRestEndpoint
from simulators.fems_rest import FemsRestSimulator

HOST = "127.0.0.1"
_START_TIMEOUT_S = 60.0
_REPLY_TIMEOUT_S = 30.0
# Memory is "flat" if the second half of the run holds at most this much more per device.
_FLAT_BYTES_PER_DEVICE = 1024
_MEMORY_SAMPLES = 20

type Poll = Callable[[], Awaitable[None]]


# --- simulator process ------------------------------------------------------------------


def _serve(count: int, conn: Connection) -> None:
    """Child process: run `count` simulators until told to stop (or the parent is gone)."""
    asyncio.run(_serve_async(count, conn))


async def _serve_async(count: int, conn: Connection) -> None:
    simulators = [FemsRestSimulator(hostname=f"fems{i:05d}", seed=i) for i in range(count)]
    try:
        for simulator in simulators:
            await simulator.start(HOST)
        conn.send([simulator.read_port for simulator in simulators])
        while True:
            try:
                command = await asyncio.to_thread(conn.recv)
            except EOFError:  # the parent went away
                return
            if command == "counts":
                conn.send([(s.requests.total, dict(s.requests.by_method)) for s in simulators])
            elif command == "reset":
                for simulator in simulators:
                    simulator.requests.reset()
                conn.send(None)
            else:
                return
    finally:
        for simulator in simulators:
            await simulator.stop()


class SimulatorProcess:
    """`count` FEMS REST simulators in a spawned child process; a context manager."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.ports: list[int] = []
        context = multiprocessing.get_context("spawn")
        self._conn, child_conn = context.Pipe()
        self._process = context.Process(target=_serve, args=(count, child_conn), daemon=True)
        self._child_conn = child_conn

    def __enter__(self) -> Self:
        self._process.start()
        self._child_conn.close()
        self.ports = self._reply(_START_TIMEOUT_S)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        with contextlib.suppress(OSError):
            self._conn.send("stop")
        self._process.join(10)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join(5)
        self._conn.close()

    def counts(self) -> list[tuple[int, dict[str, int]]]:
        """(total, per method) requests each simulator received since the last reset."""
        self._conn.send("counts")
        return self._reply(_REPLY_TIMEOUT_S)

    def reset(self) -> None:
        self._conn.send("reset")
        self._reply(_REPLY_TIMEOUT_S)

    def _reply(self, timeout: float) -> Any:
        if not self._conn.poll(timeout):
            raise TimeoutError("simulator process did not answer")
        return self._conn.recv()


# --- measurement --------------------------------------------------------------------------


@dataclass(slots=True)
class MemoryResult:
    after_warmup: int
    end: int
    peak: int
    first_half: float
    second_half: float
    devices: int

    @property
    def growth_per_device(self) -> float:
        return (self.second_half - self.first_half) / self.devices

    @property
    def flat(self) -> bool:
        return self.growth_per_device <= _FLAT_BYTES_PER_DEVICE


@dataclass(slots=True)
class RunResult:
    path: str
    devices: int
    cycles: int
    cpu_ms: list[float]  # loop-thread CPU of one cycle / devices, one value per cycle
    poll_wall_ms: list[float]  # wall time of every single poll
    cycle_wall_ms: list[float]
    process_cpu_ms: float  # whole-process CPU over the run / polls (cross-check)
    requests: int
    methods: dict[str, int]
    memory: MemoryResult | None = None

    @property
    def requests_per_poll(self) -> float:
        return self.requests / (self.devices * self.cycles)


def _p95(values: Sequence[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[18]


def _memory_now() -> int:
    gc.collect()
    return tracemalloc.get_traced_memory()[0]


async def _timed(poll: Poll) -> float:
    start = time.perf_counter()
    await poll()
    return (time.perf_counter() - start) * 1000


async def measure(
    path: str,
    polls: Sequence[Poll],
    simulators: SimulatorProcess,
    *,
    warmup: int,
    cycles: int,
    memory: bool,
) -> RunResult:
    """Poll every device once per cycle, all concurrently; `cycles` cycles after warm-up."""
    for _ in range(warmup):
        await asyncio.gather(*(poll() for poll in polls))
    simulators.reset()
    after_warmup = _memory_now() if memory else 0
    if memory:
        tracemalloc.reset_peak()
    sample_every = max(cycles // _MEMORY_SAMPLES, 1)
    samples: list[int] = []
    cpu_ms: list[float] = []
    poll_wall_ms: list[float] = []
    cycle_wall_ms: list[float] = []
    process_start = time.process_time()
    for cycle in range(cycles):
        cpu_start = time.thread_time()
        wall_start = time.perf_counter()
        latencies = await asyncio.gather(*(_timed(poll) for poll in polls))
        cycle_cpu_ms = (time.thread_time() - cpu_start) * 1000 / len(polls)
        cycle_wall = (time.perf_counter() - wall_start) * 1000
        if not memory:
            poll_wall_ms.extend(latencies)
            cycle_wall_ms.append(cycle_wall)
            cpu_ms.append(cycle_cpu_ms)
        elif (cycle + 1) % sample_every == 0:
            # Timings are not kept in a memory run: their lists would be traced as growth.
            samples.append(_memory_now())
    process_cpu_ms = (time.process_time() - process_start) * 1000 / (cycles * len(polls))
    counts = simulators.counts()
    methods: dict[str, int] = {}
    for _, by_method in counts:
        for method, count in by_method.items():
            methods[method] = methods.get(method, 0) + count
    result = RunResult(
        path=path,
        devices=len(polls),
        cycles=cycles,
        cpu_ms=cpu_ms,
        poll_wall_ms=poll_wall_ms,
        cycle_wall_ms=cycle_wall_ms,
        process_cpu_ms=process_cpu_ms,
        requests=sum(total for total, _ in counts),
        methods=methods,
    )
    if memory:
        half = len(samples) // 2
        result.memory = MemoryResult(
            after_warmup=after_warmup,
            end=samples[-1],
            peak=tracemalloc.get_traced_memory()[1],
            first_half=statistics.fmean(samples[:half]),
            second_half=statistics.fmean(samples[half:]),
            devices=len(polls),
        )
    return result


def _client_poll(client: FemsRestClient) -> Poll:
    async def poll() -> None:
        snapshot = await client.async_get_snapshot()
        if snapshot.soc is None or snapshot.hostname is None:
            raise RuntimeError("incomplete snapshot")

    return poll


async def run_client(
    simulators: SimulatorProcess, *, warmup: int, cycles: int, memory: bool
) -> RunResult:
    """Bare `FemsRestClient`s on one shared session (as Home Assistant shares its own)."""
    if memory:
        tracemalloc.start()
    try:
        async with aiohttp.ClientSession() as session:
            polls = [
                _client_poll(FemsRestClient(session, FemsRestEndpoint(HOST, port)))
                for port in simulators.ports
            ]
            return await measure(
                "FemsRestClient" + (" (tracemalloc)" if memory else ""),
                polls,
                simulators,
                warmup=warmup,
                cycles=cycles,
                memory=memory,
            )
    finally:
        if memory:
            tracemalloc.stop()


@contextlib.asynccontextmanager
async def _home_assistant() -> AsyncIterator[Any]:
    from pytest_homeassistant_custom_component.common import (  # noqa: PLC0415
        async_test_home_assistant,
    )

    async with async_test_home_assistant() as hass:
        yield hass


async def run_coordinator(simulators: SimulatorProcess, *, warmup: int, cycles: int) -> RunResult:
    """`EnergyFlexCoordinator.async_refresh` in a running `HomeAssistant`, one per device."""
    # Home Assistant is imported only here: the bare client run stays free of it.
    from homeassistant.const import CONF_HOST, CONF_PASSWORD, CONF_PORT  # noqa: PLC0415
    from homeassistant.helpers.aiohttp_client import (  # noqa: PLC0415
        DATA_RESOLVER,
        async_get_clientsession,
    )
    from pytest_homeassistant_custom_component.common import MockConfigEntry  # noqa: PLC0415

    from custom_components.energy_flex.const import DOMAIN, LOCAL_POLL_INTERVAL  # noqa: PLC0415
    from custom_components.energy_flex.coordinator import EnergyFlexCoordinator  # noqa: PLC0415

    async with _home_assistant() as hass:
        # Home Assistant's session resolves through zeroconf (multicast); the hosts here are
        # IP addresses that are never resolved, so a plain resolver keeps it all on 127.0.0.1.
        resolver = aiohttp.ThreadedResolver()
        resolver.real_close = resolver.close  # type: ignore[attr-defined]
        hass.data[DATA_RESOLVER] = resolver
        session = async_get_clientsession(hass)
        polls: list[Poll] = []
        unsubscribes: list[Callable[[], None]] = []
        for index, port in enumerate(simulators.ports):
            entry = MockConfigEntry(
                domain=DOMAIN,
                title=f"FEMS {index}",
                unique_id=f"fems{index:05d}",
                data={CONF_HOST: HOST, CONF_PORT: port, CONF_PASSWORD: "user"},
            )
            entry.add_to_hass(hass)
            client = FemsRestClient(session, FemsRestEndpoint(HOST, port))
            coordinator: EnergyFlexCoordinator[Any] = EnergyFlexCoordinator(
                hass, entry, fetch=client.async_get_snapshot, update_interval=LOCAL_POLL_INTERVAL
            )
            # A listener, as entities add: each refresh notifies it and re-arms the timer
            # (10 s ahead, so it never fires during the back-to-back cycles).
            unsubscribes.append(coordinator.async_add_listener(lambda: None))
            polls.append(_coordinator_poll(coordinator))
        try:
            return await measure(
                "EnergyFlexCoordinator (HA)",
                polls,
                simulators,
                warmup=warmup,
                cycles=cycles,
                memory=False,
            )
        finally:
            for unsubscribe in unsubscribes:
                unsubscribe()


def _coordinator_poll(coordinator: Any) -> Poll:
    async def poll() -> None:
        await coordinator.async_refresh()
        if not coordinator.last_update_success:
            raise RuntimeError("coordinator refresh failed") from coordinator.last_exception

    return poll


# --- report -------------------------------------------------------------------------------


def _kib(value: float) -> str:
    return f"{value / 1024:.1f}"


def timing_table(results: Sequence[RunResult]) -> str:
    lines = [
        "| Path | Devices | Polls/device | Requests/poll | Loop CPU/poll median (ms) "
        "| Loop CPU/poll p95 (ms) | Process CPU/poll mean (ms) | Poll wall median (ms) "
        "| Poll wall p95 (ms) | Cycle wall median (ms) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    lines.extend(
        f"| {r.path} | {r.devices} | {r.cycles} | {r.requests_per_poll:.3f} "
        f"| {statistics.median(r.cpu_ms):.3f} | {_p95(r.cpu_ms):.3f} "
        f"| {r.process_cpu_ms:.3f} | {statistics.median(r.poll_wall_ms):.2f} "
        f"| {_p95(r.poll_wall_ms):.2f} | {statistics.median(r.cycle_wall_ms):.2f} |"
        for r in results
    )
    return "\n".join(lines)


def memory_table(results: Sequence[RunResult]) -> str:
    lines = [
        "| Path | Devices | Polls/device | After warm-up/device (KiB) | End/device (KiB) "
        "| Peak/device (KiB) | 2nd − 1st half/device (KiB) | Flat |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        m = r.memory
        if m is None:
            continue
        lines.append(
            f"| {r.path} | {r.devices} | {r.cycles} | {_kib(m.after_warmup / m.devices)} "
            f"| {_kib(m.end / m.devices)} | {_kib(m.peak / m.devices)} "
            f"| {_kib(m.growth_per_device)} | {'yes' if m.flat else 'NO'} |"
        )
    return "\n".join(lines)


def environment() -> str:
    from homeassistant.const import __version__ as ha_version  # noqa: PLC0415

    return (
        f"Python {platform.python_version()}, Home Assistant {ha_version}, "
        f"aiohttp {aiohttp.__version__}, {platform.system()} {platform.machine()}, "
        f"{os.cpu_count()} CPUs"
    )


# --- main ---------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, nargs="*", default=[1, 20])
    parser.add_argument("--cycles", type=int, default=200, help="polls per device, measured")
    parser.add_argument("--warmup", type=int, default=50, help="polls per device, not measured")
    parser.add_argument("--memory-devices", type=int, default=20)
    parser.add_argument("--memory-cycles", type=int, default=1000)
    parser.add_argument("--no-hass", action="store_true", help="skip the coordinator runs")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.cycles < 2 or args.memory_cycles < 2 * _MEMORY_SAMPLES:
        raise SystemExit("too few cycles")
    results: list[RunResult] = []
    memory_results: list[RunResult] = []
    for devices in args.devices:
        with SimulatorProcess(devices) as simulators:
            results.append(
                asyncio.run(
                    run_client(simulators, warmup=args.warmup, cycles=args.cycles, memory=False)
                )
            )
            if not args.no_hass:
                results.append(
                    asyncio.run(run_coordinator(simulators, warmup=args.warmup, cycles=args.cycles))
                )
    if args.memory_devices > 0:
        with SimulatorProcess(args.memory_devices) as simulators:
            memory_results.append(
                asyncio.run(
                    run_client(
                        simulators, warmup=args.warmup, cycles=args.memory_cycles, memory=True
                    )
                )
            )
    print(environment())
    if results:
        print()
        print(timing_table(results))
    if memory_results:
        print()
        print(memory_table(memory_results))
    bad = [r for r in (*results, *memory_results) if r.requests_per_poll != 1]
    for r in bad:
        print(f"\nBUDGET: {r.path} sent {r.requests_per_poll} requests per poll ({r.methods})")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
