"""Drives one loaded entry through a fault: polls, reads every sensor, sends a command."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Coroutine
from datetime import timedelta
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.sensor import SensorStateClass
from homeassistant.const import STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
    async_fire_time_changed_exact,
)

from custom_components.energy_flex.const import DOMAIN, MAX_POLL_BACKOFF

from .adapters import ConnectionAdapter

INTEGRATION_LOGGER = "custom_components.energy_flex"
# Words of a log line that reports a bug rather than a device fault.
_BUG_MARKERS = (
    "Unexpected error",
    "Unexpected exception",
    "Traceback",
    "Error doing job",
    "never retrieved",
    "Exception in callback",
)
# More than the simulated house ever moves (PV 2 kW, load 1 kW, battery 5 kW).
# Sensors that show Energy Flex's own state, not a device value: they stay known in a fault.
OWN_STATE_KEYS = frozenset({"control_plan"})
_MAX_SITE_POWER_W = 10_000.0
# While Home Assistant waits for a timer (a client's timeout), time moves this far once
# nothing happened for this many real pauses of 20 ms.
_TIMER_STEP = timedelta(seconds=0.1)
_PATIENCE = 10
_WH_PER_UNIT = {"Wh": 1.0, "kWh": 1000.0, "MWh": 1_000_000.0}


class Harness:
    """One connection's entry in a real Home Assistant, with a simulator that can fail."""

    def __init__(
        self,
        hass: HomeAssistant,
        freezer: FrozenDateTimeFactory,
        caplog: pytest.LogCaptureFixture,
        adapter: ConnectionAdapter,
        entry: MockConfigEntry,
    ) -> None:
        self.hass = hass
        self.freezer = freezer
        self.caplog = caplog
        self.adapter = adapter
        self.entry = entry
        self.baseline: dict[str, str] = {}
        self._elapsed = timedelta()

    # --- time ----------------------------------------------------------------------

    async def poll(self) -> None:
        """Move time by one poll interval and let the scheduled poll run."""
        interval = self.entry.runtime_data.coordinator.update_interval
        assert interval is not None
        self.freezer.tick(interval)
        self._elapsed += interval
        async_fire_time_changed(self.hass)
        await self.settle()

    async def poll_until_answered(self) -> None:
        """Poll until the device's answer is in: after an outage the coordinator backs off
        (one interval, then doubling up to `MAX_POLL_BACKOFF`), so recovery may take more
        than one interval, never more than the longest back-off."""
        coordinator = self.entry.runtime_data.coordinator
        interval = coordinator.update_interval
        assert interval is not None
        for _ in range(math.ceil(MAX_POLL_BACKOFF / interval) + 1):
            await self.poll()
            if coordinator.last_update_success:
                return
        raise AssertionError("no poll succeeded within the longest back-off")

    async def settle(self) -> None:
        """Wait until Home Assistant is idle (see `drive`)."""
        await self.drive(self.hass.async_block_till_done(wait_background_tasks=True))

    async def drive[T](self, work: Coroutine[Any, Any, T]) -> T:
        """Run `work` to its end, moving time on whenever it waits for a timer.

        With `freezer` the event loop's clock stands still too, so a client's timeout or
        a simulator's latency only passes when the test moves time: in steps far below
        the client's timeout, each after a real pause without progress.
        """
        loop = asyncio.get_running_loop()
        task = asyncio.ensure_future(work)
        while True:
            for _ in range(_PATIENCE):
                # A real pause (an executor thread; the loop's timers are frozen) for I/O.
                pause = loop.run_in_executor(None, time.sleep, 0.02)
                await asyncio.wait({task, pause}, return_when=asyncio.FIRST_COMPLETED)
                await pause
                if task.done():
                    return task.result()
            self.freezer.tick(_TIMER_STEP)
            self._elapsed += _TIMER_STEP
            # Exact: the plain helper also runs what is due in the next half second.
            async_fire_time_changed_exact(self.hass)

    async def take_baseline(self) -> None:
        """One healthy poll; what every sensor shows then is the truth from now on."""
        await self.poll()
        self.baseline = self.states()
        self._elapsed = timedelta()
        assert self.baseline, "no sensor has a state"
        assert all(value != STATE_UNAVAILABLE for value in self.baseline.values())
        self.caplog.clear()

    # --- what the entities show ------------------------------------------------------

    def _sensor_ids(self) -> dict[str, str]:
        """Entity id by description key, for every sensor of the entry."""
        prefix = f"{self.adapter.identity}_"
        return {
            entity.unique_id.removeprefix(prefix): entity.entity_id
            for entity in er.async_entries_for_config_entry(
                er.async_get(self.hass), self.entry.entry_id
            )
            if entity.domain == "sensor" and entity.unique_id.startswith(prefix)
        }

    def states(self) -> dict[str, str]:
        """Every enabled sensor's state that comes from the device, by key."""
        states: dict[str, str] = {}
        for key, entity_id in self._sensor_ids().items():
            if key in OWN_STATE_KEYS:
                continue
            if (current := self.hass.states.get(entity_id)) is not None:
                states[key] = current.state
        return states

    def assert_true_or_absent(
        self, *, unknown: frozenset[str] = frozenset(), absent_ok: bool
    ) -> None:
        """Never a wrong number: each sensor shows the truth, or nothing.

        `unknown` must be unknown (their value cannot be true); with `absent_ok` every
        other sensor may be unknown or unavailable too, else it must show the truth.
        Counters grow with time on devices whose energy Energy Flex integrates: they may
        only grow by what the house can move in the time passed.
        """
        for key, value in self.states().items():
            if key in unknown:
                assert value == STATE_UNKNOWN, (key, value)
            elif absent_ok and value in (STATE_UNKNOWN, STATE_UNAVAILABLE):
                continue
            elif self._is_counter(key):
                self._assert_plausible_growth(key, value)
            else:
                assert value == self.baseline[key], (key, value, self.baseline[key])

    def assert_all_unavailable(self) -> None:
        """Every sensor is unavailable."""
        states = self.states()
        assert states
        assert all(value == STATE_UNAVAILABLE for value in states.values()), states

    def _is_counter(self, key: str) -> bool:
        current = self.hass.states.get(self._sensor_ids()[key])
        assert current is not None
        return current.attributes.get("state_class") == SensorStateClass.TOTAL_INCREASING

    def _assert_plausible_growth(self, key: str, value: str) -> None:
        current = self.hass.states.get(self._sensor_ids()[key])
        assert current is not None
        scale = _WH_PER_UNIT[current.attributes["unit_of_measurement"]]
        grown_wh = (float(value) - float(self.baseline[key])) * scale
        bound_wh = _MAX_SITE_POWER_W * self._elapsed.total_seconds() / 3600
        assert 0 <= grown_wh <= bound_wh + 1e-6, (key, self.baseline[key], value)

    # --- commands ------------------------------------------------------------------------

    async def command(self) -> HomeAssistantError | None:
        """The adapter's command (a battery: `energy_flex.set_battery_power`) for the device;
        the error it raised, if any."""
        device_id = self._device_id()
        try:
            await self.drive(
                self.hass.services.async_call(
                    DOMAIN,
                    self.adapter.command_service,
                    {"device_id": device_id, **self.adapter.command_data()},
                    blocking=True,
                )
            )
        except HomeAssistantError as err:
            return err
        return None

    def _device_id(self) -> str:
        device = dr.async_get(self.hass).async_get_device_by_identifier(
            (DOMAIN, self.adapter.identity), self.entry.entry_id
        )
        assert device is not None
        return device.id

    async def release(self) -> None:
        """Hand the device back (a battery: `energy_flex.release_control`)."""
        device_id = self._device_id()
        await self.drive(
            self.hass.services.async_call(
                DOMAIN,
                self.adapter.release_service,
                {"device_id": device_id, **self.adapter.release_data()},
                blocking=True,
            )
        )

    async def assert_refused_cleanly(self) -> None:
        """A command is refused with a translated error and reaches nothing."""
        writes = self.adapter.writes()
        err = await self.command()
        assert_translated(err)
        assert self.adapter.writes() == writes
        assert self.adapter.released()

    async def assert_done_or_refused_cleanly(self) -> None:
        """A command either completes (the device holds it) or reaches nothing."""
        writes = self.adapter.writes()
        err = await self.command()
        if err is None:
            assert self.adapter.holds_command()
            await self.release()
            assert self.adapter.released()
        else:
            assert_translated(err)
            assert self.adapter.writes() == writes
            assert self.adapter.released()

    # --- log --------------------------------------------------------------------------

    def bug_reports(self) -> list[str]:
        """Log lines that show a bug: a traceback or an "unexpected" error, from anywhere."""
        return [
            f"{record.name}: {record.getMessage()}"
            for record in self.caplog.records
            if (record.exc_info and record.levelno >= logging.INFO)
            or any(marker in record.getMessage() for marker in _BUG_MARKERS)
        ]

    def problem_lines(self) -> list[str]:
        """Warnings and errors Energy Flex logged (an outage should be one)."""
        return [
            record.getMessage()
            for record in self.caplog.records
            if record.name.startswith(INTEGRATION_LOGGER) and record.levelno >= logging.WARNING
        ]

    def debug_lines_about(self, text: str) -> list[str]:
        """Energy Flex's debug lines that mention `text`."""
        return [
            record.getMessage()
            for record in self.caplog.records
            if record.name.startswith(INTEGRATION_LOGGER)
            and record.levelno == logging.DEBUG
            and text in record.getMessage()
        ]


def assert_translated(err: Any) -> None:
    """A Home Assistant error the user reads in their language."""
    assert isinstance(err, HomeAssistantError), err
    assert err.translation_domain == DOMAIN
    assert err.translation_key
