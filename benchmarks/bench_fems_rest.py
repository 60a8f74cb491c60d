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
import gc
import statistics
import sys
import time
import tracemalloc
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
    coordinator_polls,
    environment,
    home_assistant,
    markdown_table,
    p95,
    serve,
    timed_cycle,
    warm_up,
)
from custom_components.energy_flex.api.fems_rest import FemsRestClient, FemsRestEndpoint
from simulators.fems_rest import FemsRestSimulator

# Memory is "flat" if the second half of the run holds at most this much more per device.
_FLAT_BYTES_PER_DEVICE = 1024
_MEMORY_SAMPLES = 20


# --- simulator process ------------------------------------------------------------------


async def _serve(count: int, conn: Connection) -> None:
    """Child process: `count` simulators, counting requests (total and per method)."""
    await serve(
        conn,
        [FemsRestSimulator(hostname=f"fems{i:05d}", seed=i) for i in range(count)],
        port=lambda s: s.read_port,
        counts=lambda s: (s.requests.total, dict(s.requests.by_method)),
        reset=lambda s: s.requests.reset(),
    )


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


def _memory_now() -> int:
    gc.collect()
    return tracemalloc.get_traced_memory()[0]


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
    await warm_up(polls, warmup, simulators)
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
        cycle_timing = await timed_cycle(polls)
        if not memory:
            poll_wall_ms.extend(cycle_timing.poll_wall_ms)
            cycle_wall_ms.append(cycle_timing.wall_ms)
            cpu_ms.append(cycle_timing.cpu_ms)
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


async def run_coordinator(simulators: SimulatorProcess, *, warmup: int, cycles: int) -> RunResult:
    """`EnergyFlexCoordinator.async_refresh` in a running `HomeAssistant`, one per device."""
    # Home Assistant is imported only here: the bare client run stays free of it.
    from homeassistant.const import CONF_HOST, CONF_PASSWORD, CONF_PORT  # noqa: PLC0415
    from homeassistant.helpers.aiohttp_client import (  # noqa: PLC0415
        DATA_RESOLVER,
        async_get_clientsession,
    )

    async with home_assistant() as hass:
        # Home Assistant's session resolves through zeroconf (multicast); the hosts here are
        # IP addresses that are never resolved, so a plain resolver keeps it all on 127.0.0.1.
        resolver = aiohttp.ThreadedResolver()
        resolver.real_close = resolver.close  # type: ignore[attr-defined]
        hass.data[DATA_RESOLVER] = resolver
        session = async_get_clientsession(hass)
        devices = [
            (
                f"fems{index:05d}",
                {CONF_HOST: HOST, CONF_PORT: port, CONF_PASSWORD: "user"},
                FemsRestClient(session, FemsRestEndpoint(HOST, port)).async_get_snapshot,
            )
            for index, port in enumerate(simulators.ports)
        ]
        with coordinator_polls(hass, devices) as polls:
            return await measure(
                "EnergyFlexCoordinator (HA)",
                polls,
                simulators,
                warmup=warmup,
                cycles=cycles,
                memory=False,
            )


# --- report -------------------------------------------------------------------------------


def _kib(value: float) -> str:
    return f"{value / 1024:.1f}"


def timing_table(results: Sequence[RunResult]) -> str:
    return markdown_table(
        "Path | Devices | Polls/device | Requests/poll | Loop CPU/poll median (ms) | "
        "Loop CPU/poll p95 (ms) | Process CPU/poll mean (ms) | Poll wall median (ms) | "
        "Poll wall p95 (ms) | Cycle wall median (ms)",
        "lrrrrrrrrr",
        (
            (
                r.path,
                r.devices,
                r.cycles,
                f"{r.requests_per_poll:.3f}",
                f"{statistics.median(r.cpu_ms):.3f}",
                f"{p95(r.cpu_ms):.3f}",
                f"{r.process_cpu_ms:.3f}",
                f"{statistics.median(r.poll_wall_ms):.2f}",
                f"{p95(r.poll_wall_ms):.2f}",
                f"{statistics.median(r.cycle_wall_ms):.2f}",
            )
            for r in results
        ),
    )


def memory_table(results: Sequence[RunResult]) -> str:
    return markdown_table(
        "Path | Devices | Polls/device | After warm-up/device (KiB) | End/device (KiB) | "
        "Peak/device (KiB) | 2nd − 1st half/device (KiB) | Flat",
        "lrrrrrrl",
        (
            (
                r.path,
                r.devices,
                r.cycles,
                _kib(m.after_warmup / m.devices),
                _kib(m.end / m.devices),
                _kib(m.peak / m.devices),
                _kib(m.growth_per_device),
                "yes" if m.flat else "NO",
            )
            for r in results
            if (m := r.memory) is not None
        ),
    )


# --- main ---------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = bench_parser(__doc__, warmup=50)
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
        with SimulatorProcess(_serve, devices) as simulators:
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
        with SimulatorProcess(_serve, args.memory_devices) as simulators:
            memory_results.append(
                asyncio.run(
                    run_client(
                        simulators, warmup=args.warmup, cycles=args.memory_cycles, memory=True
                    )
                )
            )
    print(environment(f"aiohttp {aiohttp.__version__}"))
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
