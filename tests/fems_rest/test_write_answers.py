"""A write is done only when the FEMS REST write API acknowledges it (`200 {}`).

A wrong write port often reaches the FEMS web interface, which answers any path with its
page and HTTP 200. That took no value: the user must hear so, not see "control active".
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from homeassistant.config_entries import SOURCE_USER
from homeassistant.const import ATTR_ENTITY_ID, CONF_HOST, CONF_PASSWORD, CONF_PORT, STATE_OFF
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import HomeAssistantError
from pytest_homeassistant_custom_component.common import MockConfigEntry
from yarl import URL

from custom_components.energy_flex.api.errors import ApiResponseError
from custom_components.energy_flex.const import CONF_WRITE_PASSWORD, CONF_WRITE_PORT, DOMAIN
from simulators.fems_rest import FemsRestSimulator

from ..common.http_server import serve_http
from .conftest import HOSTNAME, READ_PASSWORD, WRITE_PASSWORD, client_for, fems_entry_data

WEB_PAGE = b"<!DOCTYPE html><html><head><title>FEMS</title></head><body></body></html>"
SETPOINT = "number.fems_fems12345_battery_power_setpoint"
ACTIVE = "binary_sensor.fems_fems12345_control_active"


class WebInterface:
    """Answers every request with `body` (the web page by default) and HTTP 200."""

    def __init__(self, body: bytes = WEB_PAGE) -> None:
        self.body = body
        self.requests: list[str] = []
        self.port = 0

    async def page(self, request: web.Request) -> web.Response:
        self.requests.append(f"{request.method} {request.path}")
        return web.Response(body=self.body, content_type="text/html")


@pytest.fixture
async def web_ui() -> AsyncIterator[WebInterface]:
    """A web interface on a port of its own."""
    server = WebInterface()
    async with serve_http(server.page) as url:
        server.port = URL(url).port or 0
        yield server


@pytest.mark.parametrize(
    "body", [WEB_PAGE, b"", b"[]", b'"ok"'], ids=["html", "empty", "list", "string"]
)
async def test_a_200_that_is_not_the_acknowledgement_is_no_success(
    fems: FemsRestSimulator, web_ui: WebInterface, body: bytes
) -> None:
    """Client level: only a JSON object at 200 counts; the value never reached the FEMS."""
    web_ui.body = body
    async with aiohttp.ClientSession() as session:
        with pytest.raises(ApiResponseError):
            await client_for(session, fems, write_port=web_ui.port).async_set_channel(
                "SetActivePowerEquals", -2000
            )
        # The same write to the real write API is acknowledged.
        await client_for(session, fems).async_set_channel("SetActivePowerEquals", -2000)
    assert web_ui.requests == ["POST /rest/channel/ess0/SetActivePowerEquals"]
    assert [record.value for record in fems.writes.records] == [-2000]


async def test_the_web_interface_as_write_port_gets_a_form_error(
    hass: HomeAssistant, fems: FemsRestSimulator, web_ui: WebInterface
) -> None:
    """The flow's test write reaches the web page: a translated error, no entry."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "fems_rest"}
    )
    form = {
        CONF_HOST: "127.0.0.1",
        CONF_PORT: fems.read_port,
        CONF_PASSWORD: READ_PASSWORD,
        CONF_WRITE_PASSWORD: WRITE_PASSWORD,
        CONF_WRITE_PORT: web_ui.port,
    }
    result = await hass.config_entries.flow.async_configure(result["flow_id"], form)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "fems_rest_write_not_recognised"}
    assert any(request.startswith("POST ") for request in web_ui.requests)
    assert fems.writes.records == []
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {**form, CONF_WRITE_PORT: fems.write_port}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_a_command_answered_by_the_web_page_fails_and_is_not_held(
    hass: HomeAssistant, fems: FemsRestSimulator, web_ui: WebInterface
) -> None:
    """A charge command to a write port that serves the web page: an error, not active."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id=HOSTNAME,
        title=f"FEMS {HOSTNAME}",
        data={**fems_entry_data(fems), CONF_WRITE_PORT: web_ui.port},
    )
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    with pytest.raises(HomeAssistantError) as excinfo:
        await hass.services.async_call(
            DOMAIN,
            "set_battery_power",
            {ATTR_ENTITY_ID: SETPOINT, "power": -2000},
            blocking=True,
        )
    assert excinfo.value.translation_key == "invalid_response"
    assert fems.writes.records == []
    assert hass.states.get(ACTIVE).state == STATE_OFF
