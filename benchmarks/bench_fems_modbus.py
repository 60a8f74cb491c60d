"""FEMS Modbus/TCP poll budgets (DESIGN.md §7): requests, bytes and event-loop CPU per poll.

Compares `FemsModbusClient` (discovered table, the fewest reads of ≤ 125 registers, on
our own Modbus/TCP client `api/modbus_tcp.py`) with the same registers read the way Home
Assistant's core `modbus` integration would be set up for a FEMS by hand: one sensor per
register, one read each, addresses typed in (FEMS Home layout), one pymodbus client per
hub (as core `modbus` uses), reads one after the other.

The simulators run in a spawned child process, so the CPU time measured is the client's
alone; requests and bytes (Modbus/TCP frames both ways) are counted by the simulators.
Everything talks to 127.0.0.1 only, and every loop is bounded.

    .venv/bin/python -m benchmarks.bench_fems_modbus            # from the repository root
    .venv/bin/python benchmarks/bench_fems_modbus.py --devices 1 20 --cycles 200
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import struct
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # also run as a plain script

import pymodbus
from pymodbus.client import AsyncModbusTcpClient

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
from custom_components.energy_flex.api.fems_modbus import FemsModbusClient
from simulators.fems_modbus import FemsModbusSimulator

# A lower bound for what each request adds below Modbus/TCP: a request and a response
# segment with at least 20 B IPv4 + 20 B TCP headers each (no options, no Ethernet, no ACKs).
_TCP_IP_BYTES_PER_REQUEST = 2 * (20 + 20)

# What a user would type into `configuration.yaml` for the same values, FEMS Home layout:
# (address, registers, struct format). Same 16 values as one FemsModbusClient poll.
CORE_MODBUS_SENSORS: tuple[tuple[int, int, str], ...] = (
    (222, 1, ">H"),  # _sum/State
    (302, 1, ">H"),  # EssSoc
    (315, 2, ">f"),  # GridActivePower
    (327, 2, ">f"),  # ProductionActivePower
    (343, 2, ">f"),  # ConsumptionActivePower
    (359, 4, ">d"),  # GridBuyActiveEnergy
    (363, 4, ">d"),  # GridSellActiveEnergy
    (367, 4, ">d"),  # ProductionActiveEnergy
    (379, 4, ">d"),  # ConsumptionActiveEnergy
    (383, 4, ">d"),  # EssDcChargeEnergy
    (387, 4, ">d"),  # EssDcDischargeEnergy
    (415, 2, ">f"),  # EssDischargePower
    (417, 1, ">H"),  # GridMode
    (420, 2, ">f"),  # EssCapacity
    (702, 2, ">f"),  # ess0 minimum power set-point
    (704, 2, ">f"),  # ess0 maximum power set-point
)


# --- simulator process ------------------------------------------------------------------


async def _serve(count: int, conn: Connection) -> None:
    """Child process: `count` simulators, counting requests and bytes (both ways)."""
    await serve(
        conn,
        [FemsModbusSimulator(max_connections=5) for _ in range(count)],
        port=lambda s: s.port,
        counts=lambda s: (s.stats.requests, s.stats.bytes_received + s.stats.bytes_sent),
        reset=lambda s: s.stats.reset(),
    )


# --- measurement --------------------------------------------------------------------------


@dataclass(slots=True)
class RunResult:
    path: str
    devices: int
    cycles: int
    cpu_ms: list[float]  # loop-thread CPU of one cycle / devices
    poll_wall_ms: list[float]
    requests: int
    bytes: int

    @property
    def requests_per_poll(self) -> float:
        return self.requests / (self.devices * self.cycles)

    @property
    def bytes_per_poll(self) -> float:
        return self.bytes / (self.devices * self.cycles)

    @property
    def wire_bytes_per_poll(self) -> float:
        return self.bytes_per_poll + _TCP_IP_BYTES_PER_REQUEST * self.requests_per_poll


async def measure(
    path: str, polls: Sequence[Poll], simulators: SimulatorProcess, *, warmup: int, cycles: int
) -> RunResult:
    """Poll every device once per cycle, all concurrently; `cycles` cycles after warm-up."""
    await warm_up(polls, warmup, simulators)
    cpu_ms: list[float] = []
    poll_wall_ms: list[float] = []
    for _ in range(cycles):
        cycle = await timed_cycle(polls)
        cpu_ms.append(cycle.cpu_ms)
        poll_wall_ms.extend(cycle.poll_wall_ms)
    per_device: list[tuple[int, int]] = simulators.counts()
    requests = sum(r for r, _ in per_device)
    total_bytes = sum(b for _, b in per_device)
    return RunResult(path, len(polls), cycles, cpu_ms, poll_wall_ms, requests, total_bytes)


def _client_poll(client: FemsModbusClient) -> Poll:
    async def poll() -> None:
        snapshot = await client.async_get_snapshot()
        if snapshot.soc is None or snapshot.allowed_discharge_power is None:
            raise RuntimeError("incomplete snapshot")

    return poll


async def run_client(simulators: SimulatorProcess, *, warmup: int, cycles: int) -> RunResult:
    """One `FemsModbusClient` per device (discovery happens in the warm-up)."""
    clients = [FemsModbusClient(HOST, port) for port in simulators.ports]
    try:
        return await measure(
            "FemsModbusClient",
            [_client_poll(client) for client in clients],
            simulators,
            warmup=warmup,
            cycles=cycles,
        )
    finally:
        for client in clients:
            await client.async_close()


def _core_modbus_poll(client: AsyncModbusTcpClient) -> Poll:
    async def poll() -> None:
        values: list[float] = []
        for address, count, fmt in CORE_MODBUS_SENSORS:
            response = await client.read_holding_registers(address, count=count, device_id=1)
            if response.isError():
                raise RuntimeError(f"exception reading {address}")
            raw = struct.pack(f">{count}H", *response.registers)
            values.append(struct.unpack(fmt, raw)[0])
        if len(values) != len(CORE_MODBUS_SENSORS):
            raise RuntimeError("incomplete poll")

    return poll


async def run_core_modbus(simulators: SimulatorProcess, *, warmup: int, cycles: int) -> RunResult:
    """Core `modbus` style: one read per configured sensor, same values."""
    clients = [AsyncModbusTcpClient(HOST, port=port, retries=0) for port in simulators.ports]
    try:
        for client in clients:
            if not await client.connect():
                raise RuntimeError("cannot connect")
        return await measure(
            "core modbus style (1 read/sensor)",
            [_core_modbus_poll(client) for client in clients],
            simulators,
            warmup=warmup,
            cycles=cycles,
        )
    finally:
        for client in clients:
            client.close()


async def run_coordinator(simulators: SimulatorProcess, *, warmup: int, cycles: int) -> RunResult:
    """`EnergyFlexCoordinator.async_refresh` over `FemsModbusClient` in a `HomeAssistant`."""
    from homeassistant.const import CONF_HOST, CONF_PORT  # noqa: PLC0415

    async with home_assistant() as hass:
        clients = [FemsModbusClient(HOST, port) for port in simulators.ports]
        devices = [
            (f"ems{index:05d}", {CONF_HOST: HOST, CONF_PORT: port}, client.async_get_snapshot)
            for index, (port, client) in enumerate(zip(simulators.ports, clients, strict=True))
        ]
        try:
            with coordinator_polls(hass, devices) as polls:
                return await measure(
                    "EnergyFlexCoordinator (HA)", polls, simulators, warmup=warmup, cycles=cycles
                )
        finally:
            for client in clients:
                await client.async_close()


# --- report -------------------------------------------------------------------------------


def timing_table(results: Sequence[RunResult]) -> str:
    return markdown_table(
        "Path | Devices | Polls/device | Requests/poll | Modbus bytes/poll | "
        "+ TCP/IP bytes/poll (≥) | Loop CPU/poll median (ms) | Loop CPU/poll p95 (ms) | "
        "Poll wall median (ms) | Poll wall p95 (ms)",
        "lrrrrrrrrr",
        (
            (
                r.path,
                r.devices,
                r.cycles,
                f"{r.requests_per_poll:.2f}",
                f"{r.bytes_per_poll:.0f}",
                f"{r.wire_bytes_per_poll:.0f}",
                f"{statistics.median(r.cpu_ms):.3f}",
                f"{p95(r.cpu_ms):.3f}",
                f"{statistics.median(r.poll_wall_ms):.2f}",
                f"{p95(r.poll_wall_ms):.2f}",
            )
            for r in results
        ),
    )


def ratio_table(pairs: Sequence[tuple[RunResult, RunResult]]) -> str:
    return markdown_table(
        "Devices | Requests: core ÷ ours | Modbus bytes: core ÷ ours | "
        "+ TCP/IP bytes: core ÷ ours | Loop CPU median: core ÷ ours",
        "rrrrr",
        (
            (
                ours.devices,
                f"{core.requests_per_poll / ours.requests_per_poll:.1f}×",
                f"{core.bytes_per_poll / ours.bytes_per_poll:.2f}×",
                f"{core.wire_bytes_per_poll / ours.wire_bytes_per_poll:.1f}×",
                f"{statistics.median(core.cpu_ms) / statistics.median(ours.cpu_ms):.1f}×",
            )
            for ours, core in pairs
        ),
    )


# --- main ---------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = bench_parser(__doc__, warmup=20)
    parser.add_argument("--no-hass", action="store_true", help="skip the coordinator runs")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.cycles < 2:
        raise SystemExit("too few cycles")
    results: list[RunResult] = []
    pairs: list[tuple[RunResult, RunResult]] = []
    for devices in args.devices:
        with SimulatorProcess(_serve, devices) as simulators:
            ours = asyncio.run(run_client(simulators, warmup=args.warmup, cycles=args.cycles))
            core = asyncio.run(run_core_modbus(simulators, warmup=args.warmup, cycles=args.cycles))
            results.extend((ours, core))
            pairs.append((ours, core))
            if not args.no_hass:
                results.append(
                    asyncio.run(run_coordinator(simulators, warmup=args.warmup, cycles=args.cycles))
                )
    print(environment(f"pymodbus {pymodbus.__version__}"))
    print()
    print(timing_table(results))
    print()
    print(ratio_table(pairs))
    bad = [r for r in results if r.path != pairs[0][1].path and r.requests_per_poll != 3]
    for r in bad:
        print(f"\nBUDGET: {r.path} sent {r.requests_per_poll} requests per poll, expected 3")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
