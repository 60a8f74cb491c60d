"""FEMS Modbus/TCP poll budgets (DESIGN.md §7): requests, bytes and event-loop CPU per poll.

Compares `FemsModbusClient` (discovered table, the fewest reads of ≤ 125 registers) with
the same registers read the way Home Assistant's core `modbus` integration would be set
up for a FEMS by hand: one sensor per register, one read each, addresses typed in
(FEMS Home layout), one pymodbus client per hub, reads one after the other.

The simulators run in a spawned child process, so the CPU time measured is the client's
alone; requests and bytes (Modbus/TCP frames both ways) are counted by the simulators.
Everything talks to 127.0.0.1 only, and every loop is bounded.

    .venv/bin/python -m benchmarks.bench_fems_modbus            # from the repository root
    .venv/bin/python benchmarks/bench_fems_modbus.py --devices 1 20 --cycles 200
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import os
import platform
import statistics
import struct
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from types import TracebackType
from typing import Any, Self

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # also run as a plain script

import pymodbus
from pymodbus.client import AsyncModbusTcpClient

from custom_components.energy_flex.api.fems_modbus import FemsModbusClient
from simulators.fems_modbus import FemsModbusSimulator

HOST = "127.0.0.1"
# A lower bound for what each request adds below Modbus/TCP: a request and a response
# segment with at least 20 B IPv4 + 20 B TCP headers each (no options, no Ethernet, no ACKs).
_TCP_IP_BYTES_PER_REQUEST = 2 * (20 + 20)
_START_TIMEOUT_S = 60.0
_REPLY_TIMEOUT_S = 30.0

type Poll = Callable[[], Awaitable[None]]

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


def _serve(count: int, conn: Connection) -> None:
    """Child process: run `count` simulators until told to stop (or the parent is gone)."""
    asyncio.run(_serve_async(count, conn))


async def _serve_async(count: int, conn: Connection) -> None:
    simulators = [FemsModbusSimulator(max_connections=5) for _ in range(count)]
    try:
        for simulator in simulators:
            await simulator.start(HOST)
        conn.send([simulator.port for simulator in simulators])
        while True:
            try:
                command = await asyncio.to_thread(conn.recv)
            except EOFError:  # the parent went away
                return
            if command == "counts":
                conn.send(
                    [
                        (s.stats.requests, s.stats.bytes_received + s.stats.bytes_sent)
                        for s in simulators
                    ]
                )
            elif command == "reset":
                for simulator in simulators:
                    simulator.stats.reset()
                conn.send(None)
            else:
                return
    finally:
        for simulator in simulators:
            await simulator.stop()


class SimulatorProcess:
    """`count` FEMS Modbus simulators in a spawned child process; a context manager."""

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

    def counts(self) -> tuple[int, int]:
        """(requests, bytes) all simulators saw since the last reset."""
        self._conn.send("counts")
        per_device: list[tuple[int, int]] = self._reply(_REPLY_TIMEOUT_S)
        return sum(r for r, _ in per_device), sum(b for _, b in per_device)

    def reset(self) -> None:
        self._conn.send("reset")
        self._reply(_REPLY_TIMEOUT_S)

    def _reply(self, timeout: float) -> Any:
        if not self._conn.poll(timeout):
            raise TimeoutError("simulator process did not answer")
        return self._conn.recv()


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


def _p95(values: Sequence[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[18]


async def _timed(poll: Poll) -> float:
    start = time.perf_counter()
    await poll()
    return (time.perf_counter() - start) * 1000


async def measure(
    path: str, polls: Sequence[Poll], simulators: SimulatorProcess, *, warmup: int, cycles: int
) -> RunResult:
    """Poll every device once per cycle, all concurrently; `cycles` cycles after warm-up."""
    for _ in range(warmup):
        await asyncio.gather(*(poll() for poll in polls))
    simulators.reset()
    cpu_ms: list[float] = []
    poll_wall_ms: list[float] = []
    for _ in range(cycles):
        cpu_start = time.thread_time()
        latencies = await asyncio.gather(*(_timed(poll) for poll in polls))
        cpu_ms.append((time.thread_time() - cpu_start) * 1000 / len(polls))
        poll_wall_ms.extend(latencies)
    requests, total_bytes = simulators.counts()
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


@contextlib.asynccontextmanager
async def _home_assistant() -> AsyncIterator[Any]:
    from pytest_homeassistant_custom_component.common import (  # noqa: PLC0415
        async_test_home_assistant,
    )

    async with async_test_home_assistant() as hass:
        yield hass


async def run_coordinator(simulators: SimulatorProcess, *, warmup: int, cycles: int) -> RunResult:
    """`EnergyFlexCoordinator.async_refresh` over `FemsModbusClient` in a `HomeAssistant`."""
    from homeassistant.const import CONF_HOST, CONF_PORT  # noqa: PLC0415
    from pytest_homeassistant_custom_component.common import MockConfigEntry  # noqa: PLC0415

    from custom_components.energy_flex.const import DOMAIN, LOCAL_POLL_INTERVAL  # noqa: PLC0415
    from custom_components.energy_flex.coordinator import EnergyFlexCoordinator  # noqa: PLC0415

    async with _home_assistant() as hass:
        polls: list[Poll] = []
        unsubscribes: list[Callable[[], None]] = []
        clients: list[FemsModbusClient] = []
        for index, port in enumerate(simulators.ports):
            entry = MockConfigEntry(
                domain=DOMAIN,
                title=f"FEMS {index}",
                unique_id=f"ems{index:05d}",
                data={CONF_HOST: HOST, CONF_PORT: port},
            )
            entry.add_to_hass(hass)
            client = FemsModbusClient(HOST, port)
            clients.append(client)
            coordinator: EnergyFlexCoordinator[Any] = EnergyFlexCoordinator(
                hass, entry, fetch=client.async_get_snapshot, update_interval=LOCAL_POLL_INTERVAL
            )
            unsubscribes.append(coordinator.async_add_listener(lambda: None))
            polls.append(_coordinator_poll(coordinator))
        try:
            return await measure(
                "EnergyFlexCoordinator (HA)", polls, simulators, warmup=warmup, cycles=cycles
            )
        finally:
            for unsubscribe in unsubscribes:
                unsubscribe()
            for client in clients:
                await client.async_close()


def _coordinator_poll(coordinator: Any) -> Poll:
    async def poll() -> None:
        await coordinator.async_refresh()
        if not coordinator.last_update_success:
            raise RuntimeError("coordinator refresh failed") from coordinator.last_exception

    return poll


# --- report -------------------------------------------------------------------------------


def timing_table(results: Sequence[RunResult]) -> str:
    lines = [
        "| Path | Devices | Polls/device | Requests/poll | Modbus bytes/poll "
        "| + TCP/IP bytes/poll (≥) | Loop CPU/poll median (ms) "
        "| Loop CPU/poll p95 (ms) | Poll wall median (ms) | Poll wall p95 (ms) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    lines.extend(
        f"| {r.path} | {r.devices} | {r.cycles} | {r.requests_per_poll:.2f} "
        f"| {r.bytes_per_poll:.0f} | {r.wire_bytes_per_poll:.0f} "
        f"| {statistics.median(r.cpu_ms):.3f} | {_p95(r.cpu_ms):.3f} "
        f"| {statistics.median(r.poll_wall_ms):.2f} | {_p95(r.poll_wall_ms):.2f} |"
        for r in results
    )
    return "\n".join(lines)


def ratio_table(pairs: Sequence[tuple[RunResult, RunResult]]) -> str:
    lines = [
        "| Devices | Requests: core ÷ ours | Modbus bytes: core ÷ ours "
        "| + TCP/IP bytes: core ÷ ours | Loop CPU median: core ÷ ours |",
        "|---:|---:|---:|---:|---:|",
    ]
    lines.extend(
        f"| {ours.devices} | {core.requests_per_poll / ours.requests_per_poll:.1f}× "
        f"| {core.bytes_per_poll / ours.bytes_per_poll:.2f}× "
        f"| {core.wire_bytes_per_poll / ours.wire_bytes_per_poll:.1f}× "
        f"| {statistics.median(core.cpu_ms) / statistics.median(ours.cpu_ms):.1f}× |"
        for ours, core in pairs
    )
    return "\n".join(lines)


def environment() -> str:
    from homeassistant.const import __version__ as ha_version  # noqa: PLC0415

    return (
        f"Python {platform.python_version()}, Home Assistant {ha_version}, "
        f"pymodbus {pymodbus.__version__}, {platform.system()} {platform.machine()}, "
        f"{os.cpu_count()} CPUs"
    )


# --- main ---------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--devices", type=int, nargs="*", default=[1, 20])
    parser.add_argument("--cycles", type=int, default=200, help="polls per device, measured")
    parser.add_argument("--warmup", type=int, default=20, help="polls per device, not measured")
    parser.add_argument("--no-hass", action="store_true", help="skip the coordinator runs")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.cycles < 2:
        raise SystemExit("too few cycles")
    results: list[RunResult] = []
    pairs: list[tuple[RunResult, RunResult]] = []
    for devices in args.devices:
        with SimulatorProcess(devices) as simulators:
            ours = asyncio.run(run_client(simulators, warmup=args.warmup, cycles=args.cycles))
            core = asyncio.run(run_core_modbus(simulators, warmup=args.warmup, cycles=args.cycles))
            results.extend((ours, core))
            pairs.append((ours, core))
            if not args.no_hass:
                results.append(
                    asyncio.run(run_coordinator(simulators, warmup=args.warmup, cycles=args.cycles))
                )
    print(environment())
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
