"""The fault matrix: every connection through the same catalogue of bad answers.

For each connection (`adapters.ADAPTERS`) and each fault (`catalogue.py`), over real
sockets in a real Home Assistant, while the fault lasts:

- the affected entities are unknown or unavailable, never a wrong number; the others
  keep showing the truth;
- nothing is logged as a bug (no traceback, no "Unexpected error"), and an outage is one
  log line however many polls fail;
- a command raises a translated error and reaches nothing, or (where the device still
  answers properly) completes;

and once the fault ends, the next poll shows the truth again.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant

from .adapters import ADAPTERS, ConnectionAdapter
from .catalogue import ANSWER_FAULTS, VALUE_FAULTS, AnswerFault, Expect, ValueFault
from .harness import INTEGRATION_LOGGER, Harness, assert_translated

# Enough polls to tell "one line per outage" from "one line per poll".
POLLS_DURING_FAULT = 2

ANSWER_CASES = [
    pytest.param(adapter, fault, id=f"{adapter.name}-{fault.id}")
    for adapter in ADAPTERS
    for fault in ANSWER_FAULTS
    if fault.transport == adapter.transport
]
VALUE_CASES = [
    pytest.param(adapter, fault, id=f"{adapter.name}-{fault.id}")
    for adapter in ADAPTERS
    for fault in VALUE_FAULTS
    if fault.transport == adapter.transport and fault.field in adapter.affected
]
FLAPPING_CASES = [pytest.param(adapter, id=adapter.name) for adapter in ADAPTERS]


@contextlib.asynccontextmanager
async def loaded(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    adapter_type: type[ConnectionAdapter],
) -> AsyncIterator[Harness]:
    """The connection's simulator running and its entry loaded, with a baseline taken."""
    caplog.set_level(logging.DEBUG, logger=INTEGRATION_LOGGER)
    adapter = adapter_type()
    adapter.shorten_timeouts(monkeypatch)
    await adapter.start()
    entry = adapter.entry(hass)
    try:
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        harness = Harness(hass, freezer, caplog, adapter, entry)
        await harness.take_baseline()
        yield harness
        adapter.check_invariants()
    finally:
        adapter.clear()
        await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()
        await adapter.stop()


@pytest.mark.parametrize(("adapter_type", "fault"), ANSWER_CASES)
async def test_answer_fault(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    adapter_type: type[ConnectionAdapter],
    fault: AnswerFault,
) -> None:
    """A broken answer or connection: unavailable (or unknown), one line, then recovery."""
    async with loaded(hass, freezer, caplog, monkeypatch, adapter_type) as harness:
        fault.inject(harness.adapter)
        for _ in range(POLLS_DURING_FAULT):
            await harness.poll()
            if fault.expect is Expect.OUTAGE:
                harness.assert_all_unavailable()
            else:
                harness.assert_true_or_absent(absent_ok=fault.expect is Expect.NO_VALUES)
        problems = harness.problem_lines()
        if fault.expect is Expect.OUTAGE:
            assert len(problems) == 1, problems
            await harness.assert_refused_cleanly()
        elif fault.expect is Expect.NO_VALUES:
            assert len(problems) <= 1, problems
            await harness.assert_done_or_refused_cleanly()
        else:
            assert problems == []
            assert await harness.command() is None
            await harness.release()
        assert harness.bug_reports() == []

        harness.adapter.clear()
        await harness.poll_until_answered()
        harness.assert_true_or_absent(absent_ok=False)
        assert harness.bug_reports() == []


@pytest.mark.parametrize(("adapter_type", "fault"), VALUE_CASES)
async def test_value_fault(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    adapter_type: type[ConnectionAdapter],
    fault: ValueFault,
) -> None:
    """One impossible or unreadable value: unknown for its entities alone, the poll lives."""
    async with loaded(hass, freezer, caplog, monkeypatch, adapter_type) as harness:
        affected = harness.adapter.affected[fault.field]
        harness.adapter.set_value(fault.field, fault.raw)
        for _ in range(POLLS_DURING_FAULT):
            await harness.poll()
            harness.assert_true_or_absent(unknown=affected, absent_ok=False)
        assert harness.problem_lines() == []
        # A refused value is logged once at debug, not at every poll.
        assert len(harness.debug_lines_about("cannot be true")) <= len(affected)
        await harness.assert_done_or_refused_cleanly()
        assert harness.bug_reports() == []

        harness.adapter.clear()
        await harness.poll_until_answered()
        harness.assert_true_or_absent(absent_ok=False)


FLAP = {
    "http": lambda adapter: setattr(adapter.http_faults, "error_status", 503),
    "modbus": lambda adapter: setattr(adapter.modbus_faults, "drop_requests", 1_000),
}


@pytest.mark.parametrize("adapter_type", FLAPPING_CASES)
async def test_flapping_device(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    adapter_type: type[ConnectionAdapter],
) -> None:
    """Out, back, out, back: one line per outage, never a stale or wrong number."""
    async with loaded(hass, freezer, caplog, monkeypatch, adapter_type) as harness:
        for _ in range(2):
            FLAP[harness.adapter.transport](harness.adapter)
            await harness.poll()
            harness.assert_all_unavailable()
            writes = harness.adapter.writes()
            assert_translated(await harness.command())
            assert harness.adapter.writes() == writes
            harness.adapter.clear()
            await harness.poll_until_answered()
            harness.assert_true_or_absent(absent_ok=False)
        assert len(harness.problem_lines()) == 2, harness.problem_lines()
        assert harness.bug_reports() == []


def test_every_connection_is_in_the_matrix() -> None:
    """Each connection of the integration has an adapter (fems_cloud and powerflex join here)."""
    from custom_components.energy_flex.vendors import MENU_IDS  # noqa: PLC0415

    assert {adapter.name for adapter in ADAPTERS} == set(MENU_IDS)
    assert len(ANSWER_CASES) + len(VALUE_CASES) + len(FLAPPING_CASES) >= 100
