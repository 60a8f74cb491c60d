"""A value the FEMS does not have gets no entity; a value undefined now stays, unknown."""

from __future__ import annotations

from dataclasses import fields

import aiohttp
import pytest
from homeassistant.const import STATE_UNKNOWN
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er

from custom_components.energy_flex.api.fems import FemsSnapshot
from custom_components.energy_flex.api.fems_rest import FemsRestClient, FemsRestEndpoint
from custom_components.energy_flex.const import DOMAIN
from custom_components.energy_flex.vendors.fems.entities import FEMS_SENSORS
from simulators.fems_rest import FemsRestSimulator

from .conftest import HOSTNAME, READ_PASSWORD, setup_fems_entry

ALL_FIELDS = frozenset(field.name for field in fields(FemsSnapshot)) - {"present"}


def sensor_id(registry: er.EntityRegistry, key: str) -> str | None:
    return registry.async_get_entity_id("sensor", DOMAIN, f"{HOSTNAME}_{key}")


async def test_snapshot_tells_absent_from_undefined(fems: FemsRestSimulator) -> None:
    """A channel missing from the regex answer is absent; a null one is present."""
    fems.absent.update({"_sum/EssCapacity", "ess0/AllowedChargePower"})
    fems.undefined.add("_sum/EssSoc")
    endpoint = FemsRestEndpoint(
        host="127.0.0.1", read_port=fems.read_port, read_password=READ_PASSWORD
    )
    async with aiohttp.ClientSession() as session:
        snapshot = await FemsRestClient(session, endpoint).async_get_snapshot()
    assert snapshot.present == ALL_FIELDS - {"capacity", "allowed_charge_power"}
    assert snapshot.soc is None
    assert snapshot.has("soc")
    assert not snapshot.has("soc", "capacity")
    # A snapshot that does not know (e.g. built by another transport) has everything.
    assert FemsSnapshot().has("capacity")


def test_every_sensor_reads_snapshot_fields() -> None:
    """Each sensor names real fields: present with all of them, absent with none."""
    for description in FEMS_SENSORS:
        assert description.has_fn(FemsSnapshot(present=ALL_FIELDS)), description.key
        assert not description.has_fn(FemsSnapshot(present=frozenset())), description.key


async def test_absent_channels_get_no_entity(
    hass: HomeAssistant, fems: FemsRestSimulator, entity_registry: er.EntityRegistry
) -> None:
    """No `EssCapacity` and no ess0 limits: no capacity, stored energy or limit sensors."""
    fems.absent.update(
        {"_sum/EssCapacity", "ess0/AllowedChargePower", "ess0/AllowedDischargePower"}
    )
    fems.undefined.add("_sum/GridActivePower")  # has it, undefined right now
    await setup_fems_entry(hass, fems)
    for key in ("usable_capacity", "stored_energy", "max_charge_power", "max_discharge_power"):
        assert sensor_id(entity_registry, key) is None, key
    grid = sensor_id(entity_registry, "grid_power")
    assert grid is not None
    assert hass.states.is_state(grid, STATE_UNKNOWN)
    for key in ("state_of_charge", "battery_power", "grid_mode", "system_state"):
        assert sensor_id(entity_registry, key) is not None, key


@pytest.mark.usefixtures("static_every_poll")
async def test_value_gone_later_keeps_its_entity(
    hass: HomeAssistant, fems: FemsRestSimulator, entity_registry: er.EntityRegistry
) -> None:
    """Judged on the first poll only: a channel that vanishes later is unknown, not removed."""
    entry = await setup_fems_entry(hass, fems)
    fems.absent.add("_sum/EssCapacity")
    await entry.runtime_data.coordinator.async_refresh()
    capacity = sensor_id(entity_registry, "usable_capacity")
    assert capacity is not None
    assert hass.states.is_state(capacity, STATE_UNKNOWN)


async def test_leftover_of_an_earlier_version_is_removed(
    hass: HomeAssistant, fems: FemsRestSimulator, entity_registry: er.EntityRegistry
) -> None:
    """Earlier versions created every sensor; one this FEMS cannot fill is cleaned up."""
    fems.absent.add("_sum/EssCapacity")
    entry = await setup_fems_entry(hass, fems)
    # As an earlier version left it: registered, but never fillable.
    entity_registry.async_get_or_create(
        "sensor", DOMAIN, f"{HOSTNAME}_usable_capacity", config_entry=entry
    )
    kept = entity_registry.async_get_or_create(
        "sensor", DOMAIN, f"{HOSTNAME}_state_of_charge", config_entry=entry
    )
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert sensor_id(entity_registry, "usable_capacity") is None
    assert entity_registry.async_get(kept.entity_id) is not None
