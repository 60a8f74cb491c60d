"""The demo's PowerFlex site: its form reaches the simulator, its options feed it the load."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from homeassistant.config_entries import SOURCE_USER, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.energy_flex.const import DOMAIN
from scripts.develop_bootstrap import (
    REAL_TIME_LOAD_INTERVAL,
    Bootstrap,
    HassWebSocket,
    _form_data,
    _options_data,
    _parser,
    real_time_load_source,
)
from simulators.__main__ import _parser as simulators_parser
from simulators.powerflex import PowerFlexSimulator
from tests.develop.conftest import HOUSE_LOAD
from tests.powerflex.conftest import entity_id, writes

pytestmark = pytest.mark.usefixtures("socket_enabled")


def bootstrap_args(*argv: str) -> argparse.Namespace:
    """The bootstrap's options as scripts/develop passes them."""
    return _parser().parse_args(list(argv))


def test_form_data_uses_the_simulators_login_and_site() -> None:
    """The PowerFlex form gets what `python -m simulators` serves by default."""
    simulator_defaults = simulators_parser().parse_args([])
    data = _form_data(bootstrap_args("--powerflex-port", "29095"))["powerflex"]
    assert data == {
        "url": "http://127.0.0.1:29095",
        "username": simulator_defaults.powerflex_username,
        "password": simulator_defaults.powerflex_password,
        "site_id": simulator_defaults.powerflex_site,
    }
    assert data["username"] == "demo"
    assert data["password"] == "demo-password"


async def test_form_data_creates_a_loaded_entry_against_the_simulator(
    hass: HomeAssistant,
) -> None:
    """The vendor menu, then the form typed as the bootstrap types it: the site loads."""
    simulator = PowerFlexSimulator(sites={3: 2})  # the CLI's login and site
    await simulator.start()
    try:
        data = _form_data(bootstrap_args("--powerflex-port", str(simulator.port)))["powerflex"]
        menu = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
        assert menu["type"] is FlowResultType.MENU
        assert "powerflex" in menu["menu_options"]
        form = await hass.config_entries.flow.async_configure(
            menu["flow_id"], {"next_step_id": "powerflex"}
        )
        assert form["type"] is FlowResultType.FORM
        result = await hass.config_entries.flow.async_configure(form["flow_id"], data)
        assert result["type"] is FlowResultType.CREATE_ENTRY
        assert result["title"] == "PowerFlex site 3"
        await hass.async_block_till_done(wait_background_tasks=True)
        entry = result["result"]
        assert entry.state is ConfigEntryState.LOADED
        assert simulator.login_count >= 1
        assert simulator.failed_logins == 0
        await hass.config_entries.async_unload(entry.entry_id)
    finally:
        await simulator.stop()


def test_options_data_feeds_the_source_every_30_s() -> None:
    """What the options form gets: the source and the interval, nothing else."""
    assert _options_data(HOUSE_LOAD) == {
        "real_time_load_entity": HOUSE_LOAD,
        "real_time_load_interval": 30,
    }
    assert REAL_TIME_LOAD_INTERVAL == 30


def test_the_source_is_the_fems_rest_entrys_consumption_power() -> None:
    """Picked by key and entry, never by entity id; disabled entities do not count."""
    entities = [
        {
            "platform": DOMAIN,
            "config_entry_id": "modbus",
            "translation_key": "consumption_power",
            "entity_id": "sensor.modbus_consumption_power",
            "disabled_by": None,
        },
        {
            "platform": DOMAIN,
            "config_entry_id": "rest",
            "translation_key": "grid_power",
            "entity_id": "sensor.rest_grid_power",
            "disabled_by": None,
        },
        {
            "platform": DOMAIN,
            "config_entry_id": "rest",
            "translation_key": "consumption_power",
            "entity_id": "sensor.rest_disabled",
            "disabled_by": "user",
        },
        {
            "platform": DOMAIN,
            "config_entry_id": "rest",
            "translation_key": "consumption_power",
            "entity_id": "sensor.my_house_load",
            "disabled_by": None,
        },
    ]
    assert real_time_load_source(entities, {"rest"}) == "sensor.my_house_load"
    assert real_time_load_source(entities[:3], {"rest"}) is None


async def test_options_flow_feeds_the_house_load_to_the_site(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    ws: HassWebSocket,
    fems_entry: MockConfigEntry,
    powerflex: PowerFlexSimulator,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Over the options-flow HTTP API: the source is set, the entry reloads and sends."""
    from tests.powerflex.conftest import setup_entry  # noqa: PLC0415

    site = await setup_entry(hass, powerflex)
    assert "real_time_load_entity" not in site.options
    assert not writes(powerflex, "set_real_time_load")
    bootstrap = Bootstrap(
        await hass_client(), bootstrap_args("--url", "", "--config", str(tmp_path))
    )
    # The entries are not in tmp_path's storage: as if the bootstrap had just added them.
    bootstrap._added = {fems_entry.entry_id: "fems_rest", site.entry_id: "powerflex"}

    await bootstrap.ensure_real_time_load(ws)
    await hass.async_block_till_done(wait_background_tasks=True)

    assert site.options["real_time_load_entity"] == HOUSE_LOAD
    assert site.options["real_time_load_interval"] == 30
    # The caps the form defaults to were stored with them.
    assert site.options["max_site_load_kw"] == 500
    assert site.options["max_site_current_a"] == 2000
    assert site.state is ConfigEntryState.LOADED
    house_load = hass.states.get(HOUSE_LOAD)
    assert house_load is not None
    expected_kw = round(float(house_load.state) / 1000)
    assert writes(powerflex, "set_real_time_load")[-1] == {"real_time_load_kW": expected_kw}
    sent = hass.states.get(entity_id(hass, "sensor", "real_time_load"))
    assert sent is not None
    assert sent.state == str(expected_kw)
    assert f"real-time load from {HOUSE_LOAD}, at most every 30 s" in capsys.readouterr().out

    # The next start of scripts/develop leaves the user's choice alone.
    hass.config_entries.async_update_entry(
        site, options={**site.options, "real_time_load_entity": "sensor.other_power"}
    )
    await hass.async_block_till_done(wait_background_tasks=True)
    await bootstrap.ensure_real_time_load(ws)
    assert site.options["real_time_load_entity"] == "sensor.other_power"
    assert "real-time load from sensor.other_power, left as it is" in capsys.readouterr().out
    # ... and no options flow is left open.
    assert not hass.config_entries.options.async_progress()
    await hass.config_entries.async_unload(site.entry_id)


async def test_no_house_load_no_options(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    ws: HassWebSocket,
    powerflex: PowerFlexSimulator,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Without a FEMS REST entry the site keeps empty options, with a warning."""
    from tests.powerflex.conftest import setup_entry  # noqa: PLC0415

    site = await setup_entry(hass, powerflex)
    bootstrap = Bootstrap(
        await hass_client(), bootstrap_args("--url", "", "--config", str(tmp_path))
    )
    bootstrap._added = {site.entry_id: "powerflex"}
    await bootstrap.ensure_real_time_load(ws)
    assert "real_time_load_entity" not in site.options
    assert "WARNING: no fems_rest consumption_power sensor" in capsys.readouterr().out
    await hass.config_entries.async_unload(site.entry_id)
