"""Registers a FEMS does not have get no entity; undefined ones (0xFFFF, NaN) stay unknown."""

from __future__ import annotations

from homeassistant.const import STATE_UNKNOWN
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er

from custom_components.energy_flex.api.fems_modbus import FemsModbusClient
from custom_components.energy_flex.const import DOMAIN

from .conftest import EMS_SERIAL, FakeClock, make_simulator, setup_entry

EVERY_FIELD = frozenset(
    {
        "version",
        "state",
        "soc",
        "battery_power",
        "capacity",
        "grid_power",
        "grid_mode",
        "production_power",
        "consumption_power",
        "battery_charged_energy",
        "battery_discharged_energy",
        "grid_imported_energy",
        "grid_exported_energy",
        "produced_energy",
        "consumed_energy",
        "allowed_charge_power",
        "allowed_discharge_power",
    }
)


async def present(clock: FakeClock, **simulator: object) -> frozenset[str] | None:
    async with make_simulator(clock, **simulator) as sim:
        client = FemsModbusClient("127.0.0.1", sim.port)
        snapshot = await client.async_get_snapshot()
        await client.async_close()
    return snapshot.present


async def test_snapshot_knows_which_registers_the_table_has(clock: FakeClock) -> None:
    """Everything on current firmware with the ESS; no ESS block on the read-only app;
    records a release had not added yet are absent on older firmware (notes §2.6)."""
    assert await present(clock) == EVERY_FIELD
    read_only = EVERY_FIELD - {"allowed_charge_power", "allowed_discharge_power"}
    assert await present(clock, read_write=False) == read_only
    assert await present(clock, firmware="2024.10.0") == EVERY_FIELD - {"capacity"}
    assert await present(clock, firmware="2021.10.0") == EVERY_FIELD - {
        "capacity",
        "grid_mode",
        "battery_power",
        "battery_charged_energy",
        "battery_discharged_energy",
    }


async def test_old_firmware_gets_no_entities_for_later_registers(
    hass: HomeAssistant, clock: FakeClock, entity_registry: er.EntityRegistry
) -> None:
    """A FEMS on 2024.10 has no EssCapacity: no capacity sensors, the rest as usual."""
    async with make_simulator(clock, firmware="2024.10.0") as simulator:
        simulator.undefined.add("_sum/GridActivePower")  # has it, undefined right now
        await setup_entry(hass, simulator)

        def entity(key: str) -> str | None:
            return entity_registry.async_get_entity_id("sensor", DOMAIN, f"{EMS_SERIAL}_{key}")

        assert entity("usable_capacity") is None
        assert entity("stored_energy") is None
        grid = entity("grid_power")
        assert grid is not None
        assert hass.states.is_state(grid, STATE_UNKNOWN)
        assert entity("battery_power") is not None
        for entry in hass.config_entries.async_entries(DOMAIN):
            assert await hass.config_entries.async_unload(entry.entry_id)
