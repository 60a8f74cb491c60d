"""FEMS REST fixtures: the simulator with our test passwords, and a loaded entry."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest
from homeassistant.const import CONF_HOST, CONF_PASSWORD, CONF_PORT
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.energy_flex.api import fems_rest as fems_rest_api
from custom_components.energy_flex.api.fems_rest import FemsRestClient, FemsRestEndpoint
from custom_components.energy_flex.const import (
    CONF_CONNECTION,
    CONF_WRITE_PASSWORD,
    CONF_WRITE_PORT,
    CONNECTION_FEMS_REST,
    DOMAIN,
)
from simulators.battery import BatteryModel, FixedProfile
from simulators.fems_rest import FemsRestSimulator

# Distinctive secrets, so a test can prove none of them leaks anywhere.
READ_PASSWORD = "guest-pw-7f3a"
WRITE_PASSWORD = "owner-pw-91c2"
HOSTNAME = "fems12345"


def make_simulator(clock: Callable[[], float] = time.monotonic, **kwargs: Any) -> FemsRestSimulator:
    """A FEMS with fixed PV 2 kW and house load 1 kW, and our test passwords.

    Battery and controller cycle follow `clock` (a fake one stands still until moved).
    """
    battery = BatteryModel(profile=FixedProfile(pv=2000, load=1000), soc=50, clock=clock)
    return FemsRestSimulator(
        battery=battery,
        clock=clock,
        passwords={
            "admin": "admin-pw",
            "installer": "installer-pw",
            "owner": WRITE_PASSWORD,
            "guest": READ_PASSWORD,
        },
        hostname=HOSTNAME,
        **kwargs,
    )


def client_for(
    session: aiohttp.ClientSession,
    simulator: FemsRestSimulator,
    *,
    read_password: str = READ_PASSWORD,
    write_password: str | None = WRITE_PASSWORD,
    write_port: int | None = None,
) -> FemsRestClient:
    """A client that reaches `simulator` (writes to `write_port` instead, if given)."""
    return FemsRestClient(
        session,
        FemsRestEndpoint(
            host="127.0.0.1",
            read_port=simulator.read_port,
            read_password=read_password,
            write_port=simulator.write_port if write_port is None else write_port,
            write_password=write_password,
        ),
    )


@pytest.fixture
async def fems() -> AsyncIterator[FemsRestSimulator]:
    """A running FEMS REST simulator (current firmware, write app installed)."""
    simulator = make_simulator()
    await simulator.start()
    yield simulator
    await simulator.stop()


def fems_entry_data(simulator: FemsRestSimulator, *, write: bool = True) -> dict[str, Any]:
    """Config-entry data that reaches `simulator`."""
    data: dict[str, Any] = {
        CONF_CONNECTION: CONNECTION_FEMS_REST,
        CONF_HOST: "127.0.0.1",
        CONF_PORT: simulator.read_port,
        CONF_PASSWORD: READ_PASSWORD,
        CONF_WRITE_PORT: simulator.write_port,
    }
    if write:
        data[CONF_WRITE_PASSWORD] = WRITE_PASSWORD
    return data


async def setup_fems_entry(
    hass: HomeAssistant,
    simulator: FemsRestSimulator,
    *,
    write: bool = True,
    options: dict[str, Any] | None = None,
) -> MockConfigEntry:
    """Add and set up a FEMS REST entry for `simulator`."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id=HOSTNAME,
        title=f"FEMS {HOSTNAME}",
        data=fems_entry_data(simulator, write=write),
        options=options or {},
    )
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


@pytest.fixture
async def fems_entry(hass: HomeAssistant, fems: FemsRestSimulator) -> MockConfigEntry:
    """A loaded FEMS REST entry with control."""
    return await setup_fems_entry(hass, fems)


@pytest.fixture
def static_every_poll(monkeypatch: pytest.MonkeyPatch) -> None:
    """Read the static channels (capacity, rated power, version) on every poll.

    For tests that change one mid-run: the client otherwise reads them hourly
    (`tests/fems_rest/test_static_channels.py` pins that).
    """
    monkeypatch.setattr(fems_rest_api, "STATIC_EVERY_POLLS", 1)
