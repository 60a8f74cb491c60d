"""What the benchmarks share: simulators in a child process, timed poll cycles, reporting.

Home Assistant is imported only inside the functions that need it, so a bare client run
stays free of it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import os
import platform
import statistics
import time
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from multiprocessing.connection import Connection
from types import TracebackType
from typing import Any, NamedTuple, Protocol, Self

HOST = "127.0.0.1"
_START_TIMEOUT_S = 60.0
_REPLY_TIMEOUT_S = 30.0

type Poll = Callable[[], Awaitable[None]]
type Serve = Callable[[int, Connection], Awaitable[None]]


# --- simulator process ------------------------------------------------------------------


class Simulator(Protocol):
    async def start(self, host: str) -> None: ...
    async def stop(self) -> None: ...


async def serve[S: Simulator](
    conn: Connection,
    simulators: Sequence[S],
    *,
    port: Callable[[S], int],
    counts: Callable[[S], Any],
    reset: Callable[[S], None],
    commands: Mapping[str, Callable[[Any], Any]] | None = None,
) -> None:
    """Child process: start `simulators`, send their ports, then answer the parent's commands.

    "counts" answers `counts(s)` per simulator, "reset" calls `reset(s)` on each, a
    `(name, argument)` pair answers `commands[name](argument)`; anything else, or the
    parent going away, stops them all.
    """
    try:
        for simulator in simulators:
            await simulator.start(HOST)
        conn.send([port(simulator) for simulator in simulators])
        while True:
            try:
                command = await asyncio.to_thread(conn.recv)
            except EOFError:  # the parent went away
                return
            if isinstance(command, tuple) and commands and command[0] in commands:
                name, argument = command
                conn.send(commands[name](argument))
            elif command == "counts":
                conn.send([counts(simulator) for simulator in simulators])
            elif command == "reset":
                for simulator in simulators:
                    reset(simulator)
                conn.send(None)
            else:
                return
    finally:
        for simulator in simulators:
            await simulator.stop()


def _run_child(serve_async: Serve, count: int, conn: Connection) -> None:
    asyncio.run(serve_async(count, conn))


class SimulatorProcess:
    """`count` simulators, run by `serve_async`, in a spawned child process; a context manager.

    Spawned, so nothing is shared: the CPU time and memory measured in this process are
    the client's alone. `serve_async` must be a module-level function (it is pickled).
    """

    def __init__(self, serve_async: Serve, count: int) -> None:
        self.count = count
        self.ports: list[Any] = []
        context = multiprocessing.get_context("spawn")
        self._conn, child_conn = context.Pipe()
        self._process = context.Process(
            target=_run_child, args=(serve_async, count, child_conn), daemon=True
        )
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

    def counts(self) -> list[Any]:
        """What each simulator counted since the last reset (see `serve`)."""
        self._conn.send("counts")
        counts: list[Any] = self._reply(_REPLY_TIMEOUT_S)
        return counts

    def reset(self) -> None:
        self._conn.send("reset")
        self._reply(_REPLY_TIMEOUT_S)

    def call(self, name: str, argument: Any = None) -> Any:
        """Run one of the child's extra `commands` (see `serve`) and return its answer."""
        self._conn.send((name, argument))
        return self._reply(_REPLY_TIMEOUT_S)

    def _reply(self, timeout: float) -> Any:
        if not self._conn.poll(timeout):
            raise TimeoutError("simulator process did not answer")
        return self._conn.recv()


# --- measurement --------------------------------------------------------------------------


class Cycle(NamedTuple):
    cpu_ms: float  # loop-thread CPU of the cycle / devices
    wall_ms: float  # wall time of the whole cycle
    poll_wall_ms: list[float]  # wall time of every single poll


def p95(values: Sequence[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[18]


async def warm_up(polls: Sequence[Poll], rounds: int, simulators: SimulatorProcess) -> None:
    """`rounds` unmeasured cycles, then the simulators' counts start from zero."""
    for _ in range(rounds):
        await asyncio.gather(*(poll() for poll in polls))
    simulators.reset()


async def _timed(poll: Poll) -> float:
    start = time.perf_counter()
    await poll()
    return (time.perf_counter() - start) * 1000


async def timed_cycle(polls: Sequence[Poll]) -> Cycle:
    """Poll every device once, all concurrently in this event loop."""
    # thread_time: the CPU of this (the event loop's) thread only, not of executor threads.
    cpu_start = time.thread_time()
    wall_start = time.perf_counter()
    latencies = await asyncio.gather(*(_timed(poll) for poll in polls))
    cpu_ms = (time.thread_time() - cpu_start) * 1000 / len(polls)
    wall_ms = (time.perf_counter() - wall_start) * 1000
    return Cycle(cpu_ms, wall_ms, latencies)


# --- Home Assistant -----------------------------------------------------------------------


@contextlib.asynccontextmanager
async def home_assistant() -> AsyncIterator[Any]:
    from pytest_homeassistant_custom_component.common import (  # noqa: PLC0415
        async_test_home_assistant,
    )

    async with async_test_home_assistant() as hass:
        yield hass


def _coordinator_poll(coordinator: Any) -> Poll:
    async def poll() -> None:
        await coordinator.async_refresh()
        if not coordinator.last_update_success:
            raise RuntimeError("coordinator refresh failed") from coordinator.last_exception

    return poll


@contextlib.contextmanager
def coordinator_polls(
    hass: Any, devices: Sequence[tuple[str, dict[str, Any], Callable[[], Awaitable[Any]]]]
) -> Iterator[list[Poll]]:
    """One config entry and `EnergyFlexCoordinator` per (unique id, entry data, fetch)."""
    from pytest_homeassistant_custom_component.common import MockConfigEntry  # noqa: PLC0415

    from custom_components.energy_flex.const import DOMAIN, LOCAL_POLL_INTERVAL  # noqa: PLC0415
    from custom_components.energy_flex.coordinator import EnergyFlexCoordinator  # noqa: PLC0415

    polls: list[Poll] = []
    unsubscribes: list[Callable[[], None]] = []
    try:
        for index, (unique_id, data, fetch) in enumerate(devices):
            entry = MockConfigEntry(
                domain=DOMAIN, title=f"FEMS {index}", unique_id=unique_id, data=data
            )
            entry.add_to_hass(hass)
            coordinator: EnergyFlexCoordinator[Any] = EnergyFlexCoordinator(
                hass, entry, fetch=fetch, update_interval=LOCAL_POLL_INTERVAL
            )
            # A listener, as entities add: each refresh notifies it and re-arms the timer
            # (10 s ahead, so it never fires during the back-to-back cycles).
            unsubscribes.append(coordinator.async_add_listener(lambda: None))
            polls.append(_coordinator_poll(coordinator))
        yield polls
    finally:
        for unsubscribe in unsubscribes:
            unsubscribe()


# --- report and command line --------------------------------------------------------------


def markdown_table(header: str, align: str, rows: Iterable[Sequence[object]]) -> str:
    """A Markdown table; `header` is "A | B | …", `align` has an "l" or "r" per column."""
    separator = ["---" if a == "l" else "---:" for a in align]
    lines = [f"| {header} |", f"|{'|'.join(separator)}|"]
    lines.extend(f"| {' | '.join(str(cell) for cell in row)} |" for row in rows)
    return "\n".join(lines)


def environment(library: str) -> str:
    """The versions the figures depend on; `library` is the client library's, e.g. aiohttp."""
    from homeassistant.const import __version__ as ha_version  # noqa: PLC0415

    return (
        f"Python {platform.python_version()}, Home Assistant {ha_version}, "
        f"{library}, {platform.system()} {platform.machine()}, {os.cpu_count()} CPUs"
    )


def bench_parser(description: str | None, *, warmup: int) -> argparse.ArgumentParser:
    """--devices, --cycles and --warmup; the caller adds its own options after these."""
    parser = argparse.ArgumentParser(description=(description or "").splitlines()[0])
    parser.add_argument("--devices", type=int, nargs="*", default=[1, 20])
    parser.add_argument("--cycles", type=int, default=200, help="polls per device, measured")
    parser.add_argument("--warmup", type=int, default=warmup, help="polls per device, not measured")
    return parser
