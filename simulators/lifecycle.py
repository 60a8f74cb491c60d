"""Start/stop plumbing shared by the simulators.

Each simulator subclasses `SimulatorLifecycle`, writes its own `start(...)` (its ports
differ) and uses the helpers here for what they all do the same way: `async with`
support, an optional background ticker, and serving an aiohttp app on some sites.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self

from aiohttp import web


class SimulatorLifecycle:
    """`async with` support, a background ticker and aiohttp serving for a simulator."""

    # Class-level defaults, so subclasses need not call a base `__init__`.
    _ticker: asyncio.Task[None] | None = None
    _runner: web.AppRunner | None = None

    async def start(self) -> None:
        """Listen (on free ports by default); subclasses add their host/port arguments."""
        raise NotImplementedError

    async def stop(self) -> None:
        """Stop the ticker, then the aiohttp runner; safe to call when not started."""
        await self._stop_ticker()
        await self._stop_runner()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    # --- ticker ---------------------------------------------------------------------

    def _start_ticker(self, tick: Callable[[], None], interval_s: Callable[[], float]) -> None:
        """Call `tick` every `interval_s()` seconds until `stop`.

        The interval is asked anew before each sleep, so changing it takes effect at the
        next tick.
        """
        self._ticker = asyncio.create_task(_tick_forever(tick, interval_s))

    async def _stop_ticker(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
            self._ticker = None

    # --- aiohttp --------------------------------------------------------------------

    async def _serve[S: web.BaseSite](
        self,
        app: web.Application,
        *sites: Callable[[web.AppRunner], S],
        **runner_options: Any,
    ) -> list[S]:
        """Serve `app` on the sites the factories make (started in order); the sites.

        `runner_options` go to aiohttp's `AppRunner` (e.g. `keepalive_timeout`).

        A site that fails to start (a taken port, say) cleans up the runner, so a failed
        `start` leaves nothing listening and the simulator can be started again.
        """
        if self._runner is not None:
            raise RuntimeError("simulator already started")
        # No access log (it costs time in benchmarks); a short shutdown keeps stop() quick.
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5, **runner_options)
        await runner.setup()
        started: list[S] = []
        try:
            for make_site in sites:  # a site can only be made once the runner is set up
                site = make_site(runner)
                await site.start()
                started.append(site)
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        return started

    def _bound_port(self) -> int:
        """The runner's first listening port (the real one when asked for port 0)."""
        assert self._runner is not None
        return int(self._runner.addresses[0][1])

    async def _stop_runner(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


async def _tick_forever(tick: Callable[[], None], interval_s: Callable[[], float]) -> None:
    while True:
        await asyncio.sleep(interval_s())
        tick()
