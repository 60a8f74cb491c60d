"""FEMS cloud actions: history, energy, export, configuration, and the configuration changes."""

from __future__ import annotations

import io
import logging
import zipfile
from pathlib import Path
from typing import Any

import pytest
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import device_registry as dr
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.energy_flex.const import (
    CONF_ALLOW_CONFIGURATION_CHANGES,
    CONF_CONNECTION,
    CONNECTION_FEMS_REST,
    DOMAIN,
)
from simulators.fems_cloud import FIX_ACTIVE_POWER_ID, ErrorShape, FemsCloudSimulator

from .conftest import (
    ADMIN,
    EDGE_A,
    EDGE_B,
    GUEST,
    OWNER,
    PASSWORDS,
    make_ha_cloud,
    setup_entry,
)

ALLOW = {CONF_ALLOW_CONFIGURATION_CHANGES: True}


@pytest.fixture(autouse=True)
def config_dir(hass: HomeAssistant, tmp_path: Path) -> Path:
    """A configuration folder of this test's own: exports must never land anywhere shared."""
    folder = tmp_path / "config"
    folder.mkdir()
    hass.config.config_dir = str(folder)
    return folder


ENERGY = ["_sum/ProductionActiveEnergy", "_sum/ConsumptionActiveEnergy"]


def device_id(hass: HomeAssistant, entry: MockConfigEntry, edge_id: str = EDGE_A) -> str:
    device = dr.async_get(hass).async_get_device_by_identifier((DOMAIN, edge_id), entry.entry_id)
    assert device is not None
    return device.id


async def call(
    hass: HomeAssistant, service: str, data: dict[str, Any], *, response: bool = True
) -> Any:
    return await hass.services.async_call(
        DOMAIN, service, data, blocking=True, return_response=response
    )


def last_inner(simulator: FemsCloudSimulator) -> tuple[str | None, Any]:
    """The last edgeRpc's inner method and params, as the backend received them."""
    entry = simulator.request_log[-1]
    assert entry.method == "edgeRpc"
    assert isinstance(entry.params, dict)
    payload = entry.params["payload"]
    assert isinstance(payload, dict)
    return entry.inner_method, payload["params"]


# --- history ---------------------------------------------------------------------------------


async def test_query_history_sends_zone_and_resolution_and_answers_the_backends_shape(
    hass: HomeAssistant, ha_cloud: FemsCloudSimulator
) -> None:
    """Home Assistant's IANA zone and an explicit resolution; timestamps and data back."""
    await hass.config.async_set_time_zone("Europe/Berlin")
    entry = await setup_entry(hass, ha_cloud)
    result = await call(
        hass,
        "query_history",
        {
            "device_id": device_id(hass, entry),
            "from_date": "2025-06-02",
            "to_date": "2025-06-02",
            "channels": ["_sum/ProductionActivePower", "_sum/EssSoc", " _sum/EssSoc "],
            "resolution": {"hours": 1},
        },
    )
    method, params = last_inner(ha_cloud)
    assert method == "queryHistoricTimeseriesData"
    assert params == {
        "timezone": "Europe/Berlin",
        "fromDate": "2025-06-02",
        "toDate": "2025-06-02",
        "channels": ["_sum/ProductionActivePower", "_sum/EssSoc"],
        "resolution": {"value": 1, "unit": "HOURS"},
    }
    assert len(result["timestamps"]) == 24
    assert result["timestamps"][0] == "2025-06-01T22:00:00Z"  # local midnight, in UTC
    assert result["data"]["_sum/ProductionActivePower"] == [2000.0] * 24
    assert set(result["data"]) == {"_sum/ProductionActivePower", "_sum/EssSoc"}


@pytest.mark.parametrize(
    ("to_date", "resolution", "expected"),
    [
        ("2025-06-02", None, {"value": 5, "unit": "MINUTES"}),
        ("2025-06-12", None, {"value": 1, "unit": "HOURS"}),
        ("2025-07-31", None, {"value": 8, "unit": "HOURS"}),  # a month is 60 days, not 0
        ("2026-01-01", None, {"value": 1, "unit": "DAYS"}),
        ("2025-06-02", {"minutes": 15}, {"value": 15, "unit": "MINUTES"}),
        ("2025-06-30", {"days": 1}, {"value": 1, "unit": "DAYS"}),
        ("2025-06-30", {"hours": 48}, {"value": 2, "unit": "DAYS"}),
    ],
)
async def test_a_resolution_is_always_sent(
    hass: HomeAssistant,
    ha_cloud: FemsCloudSimulator,
    to_date: str,
    resolution: dict[str, int] | None,
    expected: dict[str, Any],
) -> None:
    """Without one, a resolution fitting the range (never the backend's quirky automatic one)."""
    entry = await setup_entry(hass, ha_cloud)
    data: dict[str, Any] = {
        "device_id": device_id(hass, entry),
        "from_date": "2025-06-02",
        "to_date": to_date,
        "channels": "_sum/EssSoc",
    }
    if resolution is not None:
        data["resolution"] = resolution
    await call(hass, "query_history", data)
    _, params = last_inner(ha_cloud)
    assert params["resolution"] == expected


async def test_query_energy_totals_and_per_period(
    hass: HomeAssistant, ha_cloud: FemsCloudSimulator
) -> None:
    """Without a resolution the totals `{"data"}`; with one, energy per period."""
    entry = await setup_entry(hass, ha_cloud)
    base = {
        "device_id": device_id(hass, entry),
        "from_date": "2025-06-02",
        "to_date": "2025-06-03",
        "channels": ENERGY,
    }
    totals = await call(hass, "query_energy", base)
    assert totals == {
        "data": {"_sum/ProductionActiveEnergy": 96000.0, "_sum/ConsumptionActiveEnergy": 48000.0}
    }
    method, params = last_inner(ha_cloud)
    assert method == "queryHistoricTimeseriesEnergy"
    assert params["timezone"] == hass.config.time_zone
    assert "resolution" not in params

    per_day = await call(hass, "query_energy", base | {"resolution": {"days": 1}})
    method, params = last_inner(ha_cloud)
    assert method == "queryHistoricTimeseriesEnergyPerPeriod"
    assert params["resolution"] == {"value": 1, "unit": "DAYS"}
    assert per_day["data"]["_sum/ConsumptionActiveEnergy"] == [24000.0, 24000.0]
    assert len(per_day["timestamps"]) == 2


async def test_no_data_is_a_translated_error(
    hass: HomeAssistant, ha_cloud: FemsCloudSimulator
) -> None:
    """Channels the backend has nothing for: its error, translated."""
    entry = await setup_entry(hass, ha_cloud)
    with pytest.raises(HomeAssistantError) as excinfo:
        await call(
            hass,
            "query_history",
            {
                "device_id": device_id(hass, entry),
                "from_date": "2025-06-02",
                "to_date": "2025-06-02",
                "channels": ["ess0/Nothing"],
            },
        )
    assert excinfo.value.translation_key == "no_data"


@pytest.mark.parametrize(
    ("changes", "key"),
    [
        ({"to_date": "2025-06-01"}, "invalid_date_range"),
        ({"to_date": "2029-01-01"}, "date_range_too_long"),
        ({"channels": ["EssSoc"]}, "invalid_channel_address"),
        ({"channels": ["_sum/a/b"]}, "invalid_channel_address"),
        ({"channels": []}, "invalid_channel_count"),
        ({"resolution": {"seconds": 90}}, "invalid_resolution"),
        ({"resolution": {"seconds": 30}}, "invalid_resolution"),
    ],
)
async def test_bad_history_input_is_refused_and_nothing_sent(
    hass: HomeAssistant, ha_cloud: FemsCloudSimulator, changes: dict[str, Any], key: str
) -> None:
    """Each mistake is a translated validation error; the backend sees nothing."""
    entry = await setup_entry(hass, ha_cloud)
    ha_cloud.reset_counters()
    data = {
        "device_id": device_id(hass, entry),
        "from_date": "2025-06-02",
        "to_date": "2025-06-03",
        "channels": ["_sum/EssSoc"],
    } | changes
    for service in ("query_history", "query_energy"):
        with pytest.raises(ServiceValidationError) as excinfo:
            await call(hass, service, data)
        assert excinfo.value.translation_key == key
    assert ha_cloud.requests.total == 0


async def test_device_must_be_a_loaded_cloud_edge(
    hass: HomeAssistant, ha_cloud: FemsCloudSimulator
) -> None:
    """Another device, an unknown id, or an unloaded entry: refused, nothing sent."""
    entry = await setup_entry(hass, ha_cloud)
    other = MockConfigEntry(domain="other")
    other.add_to_hass(hass)
    foreign = dr.async_get(hass).async_get_or_create(
        config_entry_id=other.entry_id, identifiers={("other", "x")}
    )
    base = {"from_date": "2025-06-02", "to_date": "2025-06-02", "channels": ["_sum/EssSoc"]}
    local = MockConfigEntry(domain=DOMAIN, data={CONF_CONNECTION: CONNECTION_FEMS_REST})
    local.add_to_hass(hass)
    local_device = dr.async_get(hass).async_get_or_create(
        config_entry_id=local.entry_id, identifiers={(DOMAIN, "fems12345")}
    )
    stale = dr.async_get(hass).async_get_or_create(
        config_entry_id=entry.entry_id, identifiers={(DOMAIN, "fems4711")}
    )
    for device in ("nonexistent", foreign.id, local_device.id, stale.id):
        with pytest.raises(ServiceValidationError) as excinfo:
            await call(hass, "query_history", base | {"device_id": device})
        assert excinfo.value.translation_key == "not_a_fems_cloud_edge"
    edge_device = device_id(hass, entry)
    await hass.config_entries.async_unload(entry.entry_id)
    assert entry.state is ConfigEntryState.NOT_LOADED
    with pytest.raises(ServiceValidationError) as excinfo:
        await call(hass, "query_history", base | {"device_id": edge_device})
    assert excinfo.value.translation_key == "entry_not_loaded"


async def test_cloud_errors_while_querying(
    hass: HomeAssistant, ha_cloud: FemsCloudSimulator
) -> None:
    """Unreachable, garbled and rejected-login answers become translated errors."""
    entry = await setup_entry(hass, ha_cloud)
    data = {
        "device_id": device_id(hass, entry),
        "from_date": "2025-06-02",
        "to_date": "2025-06-02",
        "channels": ["_sum/EssSoc"],
    }
    ha_cloud.faults.malformed_body = True
    with pytest.raises(HomeAssistantError) as excinfo:
        await call(hass, "query_history", data)
    assert excinfo.value.translation_key == "invalid_response"
    ha_cloud.faults.reset()
    ha_cloud.faults.error_status = 503
    with pytest.raises(HomeAssistantError) as excinfo:
        await call(hass, "query_history", data)
    assert excinfo.value.translation_key == "cannot_connect"
    ha_cloud.faults.reset()
    entry.runtime_data.vendor_data.client._backoff.reset()  # skip the back-off wait
    ha_cloud.users[OWNER].password = "rotated"
    with pytest.raises(HomeAssistantError) as excinfo:
        await call(hass, "query_history", data)
    assert excinfo.value.translation_key == "invalid_auth"
    await hass.async_block_till_done()
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == ["reauth"]


# --- export ----------------------------------------------------------------------------------


async def test_export_writes_the_xlsx_inside_the_export_folder(
    hass: HomeAssistant, ha_cloud: FemsCloudSimulator, config_dir: Path
) -> None:
    """The file lands in <config>/energy_flex/exports; the response names it and its size."""
    entry = await setup_entry(hass, ha_cloud)
    data = {"device_id": device_id(hass, entry), "from_date": "2025-06-02", "to_date": "2025-06-03"}
    result = await call(hass, "export_history", data)
    folder = Path(hass.config.path("energy_flex", "exports"))
    assert folder.is_relative_to(config_dir)
    path = folder / f"{EDGE_A}_2025-06-02_2025-06-03.xlsx"
    assert result == {"path": str(path), "size": path.stat().st_size}
    with zipfile.ZipFile(io.BytesIO(path.read_bytes())) as archive:
        assert "xl/workbook.xml" in archive.namelist()
    method, params = last_inner(ha_cloud)
    assert method == "queryHistoricTimeseriesExportXlxs"
    assert params == {
        "timezone": hass.config.time_zone,
        "fromDate": "2025-06-02",
        "toDate": "2025-06-03",
    }
    # A chosen name; .xlsx is added; the same name again replaces the file.
    result = await call(hass, "export_history", data | {"filename": "june"})
    assert result["path"] == str(folder / "june.xlsx")
    result = await call(hass, "export_history", data | {"filename": "june.xlsx"})
    assert result["path"] == str(folder / "june.xlsx")
    assert names_in(folder) == [path.name, "june.xlsx"]


@pytest.mark.parametrize(
    "filename",
    ["../escape.xlsx", "/etc/abs.xlsx", "sub/dir.xlsx", ".hidden.xlsx", "a\\b.xlsx", "x" * 130],
)
async def test_export_refuses_paths_outside_its_folder(
    hass: HomeAssistant, ha_cloud: FemsCloudSimulator, filename: str
) -> None:
    """A name is a name: folders, parents and hidden files are refused before anything is sent."""
    entry = await setup_entry(hass, ha_cloud)
    ha_cloud.reset_counters()
    with pytest.raises(ServiceValidationError) as excinfo:
        await call(
            hass,
            "export_history",
            {
                "device_id": device_id(hass, entry),
                "from_date": "2025-06-02",
                "to_date": "2025-06-02",
                "filename": filename,
            },
        )
    assert excinfo.value.translation_key == "invalid_filename"
    assert ha_cloud.requests.total == 0
    assert not exists(hass.config.path("escape.xlsx"))
    assert not exists(hass.config.path("energy_flex"))


def block_export_folder(hass: HomeAssistant) -> None:
    """A file where the export folder would go."""
    Path(hass.config.path("energy_flex")).write_text("not a folder")


def plant_link(hass: HomeAssistant, target: Path) -> Path:
    """A symlink named like an export, pointing outside the folder."""
    folder = Path(hass.config.path("energy_flex", "exports"))
    folder.mkdir(parents=True, exist_ok=True)
    target.write_text("keep")
    link = folder / "linked.xlsx"
    link.symlink_to(target)
    return link


def exists(path: str | Path) -> bool:
    return Path(path).exists()


async def test_export_that_cannot_be_written(
    hass: HomeAssistant, ha_cloud: FemsCloudSimulator
) -> None:
    """The export folder is blocked by a file: a translated error."""
    entry = await setup_entry(hass, ha_cloud)
    block_export_folder(hass)
    with pytest.raises(HomeAssistantError) as excinfo:
        await call(
            hass,
            "export_history",
            {
                "device_id": device_id(hass, entry),
                "from_date": "2025-06-02",
                "to_date": "2025-06-02",
            },
        )
    assert excinfo.value.translation_key == "export_not_written"


async def test_export_onto_a_folder_leaves_no_temporary_file(
    hass: HomeAssistant, ha_cloud: FemsCloudSimulator
) -> None:
    """The chosen name is taken by a folder: a translated error, and no leftovers."""
    entry = await setup_entry(hass, ha_cloud)
    folder = make_folder(hass, "taken.xlsx")
    with pytest.raises(HomeAssistantError) as excinfo:
        await call(
            hass,
            "export_history",
            {
                "device_id": device_id(hass, entry),
                "from_date": "2025-06-02",
                "to_date": "2025-06-02",
                "filename": "taken.xlsx",
            },
        )
    assert excinfo.value.translation_key == "export_not_written"
    assert names_in(folder) == ["taken.xlsx"]


def make_folder(hass: HomeAssistant, name: str) -> Path:
    """A folder inside the export folder; returns the export folder."""
    folder = Path(hass.config.path("energy_flex", "exports"))
    (folder / name).mkdir(parents=True)
    return folder


async def test_export_replaces_a_link_instead_of_writing_through_it(
    hass: HomeAssistant, ha_cloud: FemsCloudSimulator, tmp_path: Path
) -> None:
    """A symlink planted in the folder is replaced; its target outside stays untouched."""
    entry = await setup_entry(hass, ha_cloud)
    outside = tmp_path / "outside.txt"
    link = plant_link(hass, outside)
    await call(
        hass,
        "export_history",
        {
            "device_id": device_id(hass, entry),
            "from_date": "2025-06-02",
            "to_date": "2025-06-02",
            "filename": "linked.xlsx",
        },
    )
    assert read_text(outside) == "keep"
    assert not is_link(link)


def read_text(path: Path) -> str:
    return path.read_text()


def is_link(path: Path) -> bool:
    return path.is_symlink()


def names_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# --- configuration ---------------------------------------------------------------------------


async def test_get_edge_config_answers_the_configuration(
    hass: HomeAssistant, ha_cloud: FemsCloudSimulator
) -> None:
    """Components keyed by id, with factories: what the backend has."""
    entry = await setup_entry(hass, ha_cloud)
    config = await call(hass, "get_edge_config", {"device_id": device_id(hass, entry)})
    assert config == ha_cloud.edges[EDGE_A].config_json()
    assert config["components"][FIX_ACTIVE_POWER_ID]["factoryId"] == (
        "Controller.Ess.FixActivePower"
    )


CHANGES: list[tuple[str, dict[str, Any]]] = [
    ("update_component", {"component_id": FIX_ACTIVE_POWER_ID, "properties": {"power": -100}}),
    ("create_component", {"factory_pid": "Controller.Debug.Log", "properties": {"id": "log0"}}),
    ("delete_component", {"component_id": "ctrlBalancing0"}),
    (
        "set_channel_value",
        {"component_id": "ess0", "channel_id": "SetActivePowerEquals", "value": 0},
    ),
]


@pytest.mark.parametrize(("service", "fields"), CHANGES)
async def test_configuration_changes_are_refused_unless_allowed(
    hass: HomeAssistant, ha_cloud: FemsCloudSimulator, service: str, fields: dict[str, Any]
) -> None:
    """Off by default: a translated refusal and nothing sent."""
    entry = await setup_entry(hass, ha_cloud, login=ADMIN)
    ha_cloud.reset_counters()
    with pytest.raises(ServiceValidationError) as excinfo:
        await call(hass, service, {"device_id": device_id(hass, entry), **fields}, response=False)
    assert excinfo.value.translation_key == "configuration_changes_disabled"
    assert ha_cloud.requests.total == 0
    assert len(ha_cloud.writes) == 0


async def test_allowed_changes_run_and_are_logged_with_the_component_id(
    hass: HomeAssistant, ha_cloud: FemsCloudSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    """An admin with the gate open: each change reaches the edge and is logged (no values)."""
    caplog.set_level(logging.INFO)
    entry = await setup_entry(hass, ha_cloud, login=ADMIN, options=ALLOW)
    edge = ha_cloud.edges[EDGE_A]
    device = device_id(hass, entry)
    await call(
        hass,
        "update_component",
        {
            "device_id": device,
            "component_id": FIX_ACTIVE_POWER_ID,
            "properties": {"power": -100, "hybridEssMode": None},
        },
        response=False,
    )
    assert edge.components[FIX_ACTIVE_POWER_ID].properties["power"] == -100
    assert "hybridEssMode" not in edge.components[FIX_ACTIVE_POWER_ID].properties
    _, params = last_inner(ha_cloud)
    assert params["properties"] == [
        {"name": "power", "value": -100},
        {"name": "hybridEssMode", "value": None},
    ]
    await call(
        hass,
        "create_component",
        {"device_id": device, "factory_pid": "Controller.Debug.Log", "properties": {"id": "log0"}},
        response=False,
    )
    assert edge.components["log0"].factory_id == "Controller.Debug.Log"
    await call(
        hass,
        "create_component",
        {"device_id": device, "factory_pid": "Controller.Debug.Log"},
        response=False,
    )
    assert "ctrlDebugLog0" in edge.components
    await call(
        hass,
        "delete_component",
        {"device_id": device, "component_id": "log0"},
        response=False,
    )
    assert "log0" not in edge.components
    await call(
        hass,
        "set_channel_value",
        {
            "device_id": device,
            "component_id": "ess0",
            "channel_id": "SetActivePowerEquals",
            "value": -700,
        },
        response=False,
    )
    assert edge.setpoint_w == -700
    messages = [r.getMessage() for r in caplog.records if r.name.endswith("fems_cloud.services")]
    assert any(FIX_ACTIVE_POWER_ID in m and "power, hybridEssMode" in m for m in messages)
    assert any("log0" in m and "Controller.Debug.Log" in m for m in messages)
    assert any("(default id)" in m for m in messages)
    assert any("Deleting component log0" in m for m in messages)
    assert any("ess0/SetActivePowerEquals" in m for m in messages)
    assert not any("-700" in m or "-100" in m for m in messages)


@pytest.mark.parametrize(
    ("login", "service", "fields", "role"),
    [
        (OWNER, *CHANGES[3], "ADMIN"),
        (OWNER, *CHANGES[1], "INSTALLER"),
        (OWNER, *CHANGES[2], "INSTALLER"),
        (GUEST, *CHANGES[0], "OWNER"),
    ],
)
@pytest.mark.parametrize("shape", list(ErrorShape))
async def test_role_errors_say_which_role_is_needed(
    hass: HomeAssistant,
    login: str,
    service: str,
    fields: dict[str, Any],
    role: str,
    shape: ErrorShape,
) -> None:
    """setChannelValue needs ADMIN, which owner accounts lack: the message says so."""
    simulator = make_ha_cloud(error_shape=shape)
    await simulator.start()
    try:
        entry = await setup_entry(hass, simulator, (EDGE_A,), login=login, options=ALLOW)
        with pytest.raises(HomeAssistantError) as excinfo:
            await call(
                hass, service, {"device_id": device_id(hass, entry), **fields}, response=False
            )
        assert excinfo.value.translation_key == "cloud_role_denied"
        assert excinfo.value.translation_placeholders == {
            "edge_id": EDGE_A,
            "action": service,
            "role": role,
        }
        assert len(simulator.writes) == 0
        await hass.config_entries.async_unload(entry.entry_id)
    finally:
        await simulator.stop()


@pytest.mark.parametrize("shape", list(ErrorShape))
async def test_changes_to_an_offline_edge_fail_in_every_error_shape(
    hass: HomeAssistant, shape: ErrorShape
) -> None:
    """The backend answers 3000 "not connected" (as text, code or payload): the same error."""
    simulator = make_ha_cloud(error_shape=shape)
    await simulator.start()
    try:
        entry = await setup_entry(hass, simulator, options=ALLOW)
        simulator.set_online(EDGE_B, False)
        with pytest.raises(HomeAssistantError) as excinfo:
            await call(
                hass,
                "update_component",
                {
                    "device_id": device_id(hass, entry, EDGE_B),
                    "component_id": "ctrlBalancing0",
                    "properties": {"enabled": False},
                },
                response=False,
            )
        assert excinfo.value.translation_key == "edge_not_connected"
        with pytest.raises(HomeAssistantError) as excinfo:
            await call(
                hass,
                "update_component",
                {
                    "device_id": device_id(hass, entry),
                    "component_id": "nothing0",
                    "properties": {"enabled": False},
                },
                response=False,
            )
        assert excinfo.value.translation_key == "unknown_component"
        await hass.config_entries.async_unload(entry.entry_id)
    finally:
        await simulator.stop()


@pytest.mark.parametrize(
    ("service", "fields", "key"),
    [
        ("update_component", {"component_id": " ", "properties": {"a": 1}}, "invalid_name"),
        ("update_component", {"component_id": "ess0", "properties": {}}, "no_properties"),
        ("delete_component", {"component_id": ""}, "invalid_name"),
        ("create_component", {"factory_pid": " "}, "invalid_name"),
        (
            "set_channel_value",
            {"component_id": "ess0", "channel_id": "", "value": 1},
            "invalid_name",
        ),
    ],
)
async def test_bad_change_input_is_refused_and_nothing_sent(
    hass: HomeAssistant,
    ha_cloud: FemsCloudSimulator,
    service: str,
    fields: dict[str, Any],
    key: str,
) -> None:
    """Even with the gate open, empty names or no properties send nothing."""
    entry = await setup_entry(hass, ha_cloud, login=ADMIN, options=ALLOW)
    ha_cloud.reset_counters()
    with pytest.raises(ServiceValidationError) as excinfo:
        await call(hass, service, {"device_id": device_id(hass, entry), **fields}, response=False)
    assert excinfo.value.translation_key == key
    assert ha_cloud.requests.total == 0


async def test_no_password_in_action_logs(
    hass: HomeAssistant, ha_cloud: FemsCloudSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    """Actions log what they do, never the login's password."""
    caplog.set_level(logging.DEBUG)
    entry = await setup_entry(hass, ha_cloud, login=ADMIN, options=ALLOW)
    await call(hass, "get_edge_config", {"device_id": device_id(hass, entry)})
    await call(
        hass,
        "export_history",
        {"device_id": device_id(hass, entry), "from_date": "2025-06-02", "to_date": "2025-06-02"},
    )
    assert caplog.records
    assert PASSWORDS[ADMIN] not in caplog.text
