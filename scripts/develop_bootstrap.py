"""Prepare the development Home Assistant that scripts/develop started.

Waits until Home Assistant answers, onboards it with the dev owner if that has not
happened yet, logs in, and adds one Energy Flex entry per connection in the flow's
vendor menu (FEMS REST, FEMS Modbus, sonnen, FlexConnect, FENECON cloud, PowerFlex), each
pointed at its simulator, through the real config-flow API (the same calls the frontend
makes): menu, then next_step_id, then the form. A connection that already has an entry
is skipped, so this is safe to run again on an already prepared config directory. The
FENECON cloud entry is the simulator's owner login with both of its edges. The PowerFlex
site's options
(through the options-flow API) then point its real-time load at the FEMS REST entry's
consumption power, so the simulated house load reaches the site's DCM; a site that has a
source already keeps it.

Then, over the websocket API: fills in the Energy dashboard (`energy/save_prefs`) and
creates the "Energy Flex" dashboard (`lovelace/dashboards/create`, `lovelace/config/save`)
when they are not there yet, and finally makes the calls the frontend makes first
(`get_config`, `get_services`, `get_states`); scripts/develop prints the URL only when
they all succeed.

`--check-requirements` only tells, before Home Assistant starts, whether an integration
of configuration.yaml needs a package that is not installed (see develop_requirements).
`--prepare-storage PORT` writes Home Assistant's HTTP settings before it starts and, on a
new config directory, records the onboarding steps that need no one as done.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import yaml  # type: ignore[import-untyped]

from scripts.develop_dashboard import (
    DASHBOARD_ICON,
    DASHBOARD_TITLE,
    DASHBOARD_URL_PATH,
    DeviceEntities,
    build_dashboard,
    build_energy_prefs,
    devices_from_registry,
)

NAME = "Dev"
USERNAME = "dev"
PASSWORD = "dev-password"
ONBOARDING_STEPS = {"user", "core_config", "analytics", "integration"}
DOMAIN = "energy_flex"
# Onboarding adds these (weather, radio, text-to-speech: onboarding/views.py); they reach
# the internet and need packages the development Home Assistant does not install.
ONBOARDING_EXTRAS = frozenset({"google_translate", "met", "radio_browser"})
# Finishing the `core_config` step is what starts those flows, each failing with a traceback
# in the log. On a new config directory both steps that ask nothing of anyone are recorded
# as done before the first start: the location and units stay Home Assistant's defaults, as
# the empty step would leave them, and analytics stays off.
PRESEEDED_ONBOARDING_STEPS = ("core_config", "analytics")
ONBOARDING_STORE_VERSION = 4  # Home Assistant's onboarding STORAGE_VERSION (tested)
# The FlexConnect simulator's default batteries (simulators/flexconnect/simulator.py DEFAULT_SKIS);
# scripts/develop passes the same SKIs to the simulator and to this script.
DEFAULT_FLEXCONNECT_SKIS = (
    "90D2A30FA3D2AD48525CD255F469C167ECF8292C",
    "5C3A81E0B7D94F26A1C0E4D2B8F7A6390C1D2E3F",
)
# The PowerFlex simulator's defaults (simulators/powerflex: --powerflex-site,
# --powerflex-username, --powerflex-password); scripts/develop passes the same to both.
DEFAULT_POWERFLEX_SITE = 3
DEFAULT_POWERFLEX_USERNAME = "demo"
DEFAULT_POWERFLEX_PASSWORD = "demo-password"
# The FEMS cloud simulator's defaults (simulators/fems_cloud: `default_edges`, `default_users`):
# the owner's login sees both edges; fems1001 has a FixActivePower controller (control),
# fems1002 none, and scripts/develop makes fems1002 drop off the cloud now and then.
DEFAULT_FEMS_CLOUD_USERNAME = "owner@example.com"
DEFAULT_FEMS_CLOUD_PASSWORD = "owner"
DEFAULT_FEMS_CLOUD_EDGES = ("fems1001", "fems1002")
FEMS_CLOUD_PATH = "/fems/rest/jsonrpc"
# The demo's house load, pushed to the PowerFlex site as its real-time load (DESIGN §3.2
# options): this connection's entity of this key, sent at most every 30 s.
REAL_TIME_LOAD_CONNECTION = "fems_rest"
REAL_TIME_LOAD_KEY = "consumption_power"
REAL_TIME_LOAD_INTERVAL = 30


class BootstrapError(Exception):
    """Something answered unexpectedly; the message says what."""


class CommandError(BootstrapError):
    """Home Assistant answered a websocket command with an error."""

    def __init__(self, command: str, code: str, message: str) -> None:
        """Keep the command and Home Assistant's error code for the caller."""
        super().__init__(f"{command}: {code}: {message}")
        self.command = command
        self.code = code


class HassWebSocket:
    """Commands over an authenticated connection to Home Assistant's websocket API."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, *, timeout: float = 60) -> None:
        """Wrap a connection that has passed the auth phase."""
        self._ws = ws
        self._timeout = timeout
        self._next_id = 0

    @classmethod
    async def connect(cls, session: aiohttp.ClientSession, url: str, token: str) -> HassWebSocket:
        """Open `<url>/api/websocket` and authenticate with an access token."""
        ws_url = url.rstrip("/").replace("http", "ws", 1) + "/api/websocket"
        ws = await session.ws_connect(ws_url)
        hello = await ws.receive_json()
        if hello.get("type") != "auth_required":
            raise BootstrapError(f"websocket: expected auth_required, got {hello}")
        await ws.send_json({"type": "auth", "access_token": token})
        answer = await ws.receive_json()
        if answer.get("type") != "auth_ok":
            raise BootstrapError(f"websocket: authentication failed: {answer}")
        return cls(ws)

    async def call(self, command: str, **payload: Any) -> Any:
        """Send one command and return its result; raise CommandError on an error."""
        self._next_id += 1
        msg_id = self._next_id
        await self._ws.send_json({"id": msg_id, "type": command, **payload})
        async with asyncio.timeout(self._timeout):
            while True:
                answer = await self._ws.receive_json()
                if answer.get("id") == msg_id and answer.get("type") == "result":
                    break
        if not answer.get("success"):
            error = answer.get("error") or {}
            raise CommandError(command, error.get("code", "?"), error.get("message", "?"))
        return answer.get("result")

    async def close(self) -> None:
        """Close the connection."""
        await self._ws.close()


# The calls the frontend makes as soon as it has a connection; any failure leaves it on
# "Loading…" (the symptom scripts/develop used to miss).
FRONTEND_FIRST_CALLS = ("get_config", "get_services", "get_states")


async def check_frontend(ws: HassWebSocket) -> list[str]:
    """Make the frontend's first calls; what failed, one line each (empty: all fine)."""
    problems: list[str] = []
    results: dict[str, Any] = {}
    for command in FRONTEND_FIRST_CALLS:
        try:
            results[command] = await ws.call(command)
        except CommandError as err:
            problems.append(str(err))  # "<command>: <code>: <message>"
    if (config := results.get("get_config")) is not None:
        if config.get("recovery_mode"):
            problems.append("Home Assistant runs in recovery mode (the frontend did not load)")
        if config.get("state") != "RUNNING":
            problems.append(f"Home Assistant is {config.get('state')}, not RUNNING")
    if "get_services" in results and not isinstance(results["get_services"], dict):
        problems.append("get_services did not answer with the services")
    if "get_states" in results and not isinstance(results["get_states"], list):
        problems.append("get_states did not answer with the states")
    return problems


async def fetch_devices(ws: HassWebSocket) -> list[DeviceEntities]:
    """Energy Flex devices and their entities, from Home Assistant's registries."""
    devices = await ws.call("config/device_registry/list")
    entities = await ws.call("config/entity_registry/list")
    return devices_from_registry(devices, entities)


async def ensure_energy_prefs(ws: HassWebSocket, devices: list[DeviceEntities]) -> str:
    """Fill in the Energy dashboard unless it has sources already; says what it did."""
    try:
        prefs = await ws.call("energy/get_prefs")
    except CommandError as err:
        if err.code != "not_found":
            raise
        prefs = None
    if prefs and prefs.get("energy_sources"):
        return "Energy dashboard already configured, left as it is"
    if (new_prefs := build_energy_prefs(devices)) is None:
        return "WARNING: no device has grid, solar and battery counters; Energy dashboard empty"
    await ws.call("energy/save_prefs", **new_prefs)
    source = new_prefs["energy_sources"][0]["stat_energy_from"]
    return f"Energy dashboard configured (grid, solar, battery; grid import {source})"


async def ensure_dashboard(ws: HassWebSocket, devices: list[DeviceEntities]) -> dict[str, Any]:
    """Create and fill the "Energy Flex" dashboard unless it exists; return its config."""
    dashboards = await ws.call("lovelace/dashboards/list")
    if not any(board.get("url_path") == DASHBOARD_URL_PATH for board in dashboards):
        await ws.call(
            "lovelace/dashboards/create",
            url_path=DASHBOARD_URL_PATH,
            title=DASHBOARD_TITLE,
            icon=DASHBOARD_ICON,
            show_in_sidebar=True,
            require_admin=False,
        )
    try:
        stored: dict[str, Any] = await ws.call("lovelace/config", url_path=DASHBOARD_URL_PATH)
    except CommandError as err:
        if err.code != "config_not_found":
            raise
    else:
        _log(f"dashboard {DASHBOARD_TITLE!r} already has a config, left as it is")
        return stored
    config = build_dashboard(devices)
    await ws.call("lovelace/config/save", url_path=DASHBOARD_URL_PATH, config=config)
    _log(f"dashboard {DASHBOARD_TITLE!r} created with {len(devices)} device section(s)")
    return config


def _log(message: str) -> None:
    print(f"bootstrap: {message}", flush=True)


def _alive(pid: int | None) -> bool:
    if pid is None:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _missing_modules(log: Path | None) -> list[str]:
    """The imports Home Assistant's log says failed: the usual cause of a failing call."""
    if log is None or not log.is_file():
        return []
    names = dict.fromkeys(re.findall(r"No module named '([^']+)'", log.read_text(errors="replace")))
    if not names:
        return []
    return [
        f"Home Assistant's log ({log}): No module named {', '.join(map(repr, names))}; "
        "requirements_develop.txt must pin the packages Home Assistant imports"
    ]


def _onboarded_on_disk(config: Path) -> bool:
    """Whether every onboarding step is recorded in the config's storage.

    Home Assistant drops /api/onboarding once onboarding is complete, so a 404 there
    means either "done" or "not registered yet"; the storage file tells them apart.
    """
    try:
        data = json.loads((config / ".storage" / "onboarding").read_text())
    except FileNotFoundError, json.JSONDecodeError:
        return False
    return set(data.get("data", {}).get("done", [])) >= ONBOARDING_STEPS


def _connections_on_disk(config: Path) -> dict[str, str]:
    """Entry id -> connection (the vendor-menu id) of the stored Energy Flex entries.

    The entries API does not show an entry's data; Home Assistant loaded the entries it
    lists from this file (it saves new ones a second later).
    """
    try:
        data = json.loads((config / ".storage" / "core.config_entries").read_text())
    except FileNotFoundError, json.JSONDecodeError:
        return {}
    return {
        entry["entry_id"]: entry.get("data", {}).get("connection", "?")
        for entry in data.get("data", {}).get("entries", [])
        if entry.get("domain") == DOMAIN
    }


def _form_data(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """What to type into each connection's form (its vendor's `form_schema`)."""
    host = args.sim_host
    return {
        "fems_rest": {
            "host": host,
            "port": args.fems_read_port,
            "password": "user",  # the simulator's guest password: reads
            "write_password": "owner",  # the owner's: control through the write API
            "write_port": args.fems_write_port,
        },
        "fems_modbus": {"host": host, "port": args.fems_modbus_port, "read_write": True},
        "sonnen": {"host": host, "port": args.sonnen_port},
        "flexconnect": {
            "url": f"http://{host}:{args.flexconnect_port}",
            "device_ids": list(args.flexconnect_ski or DEFAULT_FLEXCONNECT_SKIS),
        },
        # Plain http (here and for PowerFlex): allowed for loopback hosts only.
        "fems_cloud": {
            "url": f"http://{host}:{args.fems_cloud_port}{FEMS_CLOUD_PATH}",
            "username": args.fems_cloud_username,
            "password": args.fems_cloud_password,
            "edge_ids": list(args.fems_cloud_edge or DEFAULT_FEMS_CLOUD_EDGES),
        },
        "powerflex": {
            "url": f"http://{host}:{args.powerflex_port}",
            "username": args.powerflex_username,
            "password": args.powerflex_password,
            "site_id": args.powerflex_site,
        },
    }


def real_time_load_source(entities: list[dict[str, Any]], source_entry_ids: set[str]) -> str | None:
    """The entity id of the house load: the source entries' enabled consumption power."""
    for entity in entities:
        if (
            entity.get("platform") == DOMAIN
            and entity.get("config_entry_id") in source_entry_ids
            and entity.get("translation_key") == REAL_TIME_LOAD_KEY
            and entity.get("disabled_by") is None
        ):
            return str(entity["entity_id"])
    return None


def _options_data(source: str) -> dict[str, Any]:
    """What to type into a PowerFlex entry's options form (the caps keep their defaults)."""
    return {"real_time_load_entity": source, "real_time_load_interval": REAL_TIME_LOAD_INTERVAL}


def _suggested(data_schema: list[dict[str, Any]], name: str) -> Any:
    """The value a serialised form shows in field `name` (None: the field is empty)."""
    for field in data_schema:
        if field.get("name") == name:
            return (field.get("description") or {}).get("suggested_value")
    return None


class Bootstrap:
    """The HTTP conversation with one Home Assistant instance."""

    def __init__(self, session: aiohttp.ClientSession, args: argparse.Namespace) -> None:
        """Remember the session and the command-line options."""
        self._session = session
        self._args = args
        self._base: str = args.url.rstrip("/")
        self._client_id = f"{self._base}/"
        self._token: str | None = None
        # Entry id -> connection of the entries added here (not on disk for a second).
        self._added: dict[str, str] = {}

    async def _request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        form: dict[str, str] | None = None,
        expect: int = 200,
    ) -> Any:
        headers = {"Authorization": f"Bearer {self._token}"} if self._token else {}
        async with self._session.request(
            method, self._base + path, json=json_body, data=form, headers=headers
        ) as resp:
            text = await resp.text()
            if resp.status != expect:
                raise BootstrapError(f"{method} {path} -> HTTP {resp.status}: {text}")
            return json.loads(text) if text else None

    async def _poll(self, path: str, *, authenticated: bool) -> int:
        """Status of one GET, or 0 when nothing listens yet."""
        headers = {"Authorization": f"Bearer {self._token}"} if authenticated else {}
        try:
            async with self._session.get(self._base + path, headers=headers) as resp:
                await resp.read()
                return resp.status
        except aiohttp.ClientError, TimeoutError:
            return 0

    async def _wait_for(self, path: str, *, authenticated: bool = False) -> bool:
        """Wait for a 200 on path; False when the instance is onboarded and lacks it."""
        deadline = time.monotonic() + self._args.timeout
        while time.monotonic() < deadline:
            if not _alive(self._args.hass_pid):
                raise BootstrapError("Home Assistant exited during start-up")
            status = await self._poll(path, authenticated=authenticated)
            if status == 200:
                return True
            if path == "/api/onboarding" and _onboarded_on_disk(self._args.config):
                return False
            await asyncio.sleep(1)
        raise BootstrapError(f"no answer on {path} after {self._args.timeout:.0f} s")

    async def _exchange(self, code: str) -> None:
        tokens = await self._request(
            "POST",
            "/auth/token",
            form={"grant_type": "authorization_code", "code": code, "client_id": self._client_id},
        )
        self._token = tokens["access_token"]

    async def onboard(self, steps: list[dict[str, Any]]) -> None:
        """Finish the onboarding steps that are not done; leaves us logged in."""
        done = {step["step"] for step in steps if step["done"]}
        if "user" in done:
            # Owner exists but onboarding was interrupted: log in and carry on.
            await self.login()
        else:
            answer = await self._request(
                "POST",
                "/api/onboarding/users",
                json_body={
                    "name": NAME,
                    "username": USERNAME,
                    "password": PASSWORD,
                    "language": "en",
                    "client_id": self._client_id,
                },
            )
            await self._exchange(answer["auth_code"])
            _log(f"created owner {USERNAME!r}")
        for step in ("core_config", "analytics"):
            if step not in done:
                await self._request("POST", f"/api/onboarding/{step}", json_body={})
        if "integration" not in done:
            await self._request(
                "POST",
                "/api/onboarding/integration",
                json_body={
                    "client_id": self._client_id,
                    "redirect_uri": f"{self._base}/?auth_callback=1",
                },
            )
        _log("onboarding finished")

    async def login(self) -> None:
        """Log in as the dev owner through the login flow, as the frontend does."""
        await self._wait_for("/auth/providers")
        flow = await self._request(
            "POST",
            "/auth/login_flow",
            json_body={
                "client_id": self._client_id,
                "handler": ["homeassistant", None],
                "redirect_uri": f"{self._base}/?auth_callback=1",
            },
        )
        result = await self._request(
            "POST",
            f"/auth/login_flow/{flow['flow_id']}",
            json_body={"client_id": self._client_id, "username": USERNAME, "password": PASSWORD},
        )
        if result.get("type") != "create_entry":
            raise BootstrapError(f"login as {USERNAME!r} failed: {result}")
        await self._exchange(result["result"])
        _log(f"logged in as {USERNAME!r}")

    async def wait_running(self) -> None:
        """Wait until Home Assistant has finished starting (all integrations set up)."""
        deadline = time.monotonic() + self._args.timeout
        while True:
            if not _alive(self._args.hass_pid):
                raise BootstrapError("Home Assistant exited during start-up")
            if await self._poll("/api/config", authenticated=True) == 200:
                config = await self._request("GET", "/api/config")
                if config.get("state") == "RUNNING":
                    return
            if time.monotonic() > deadline:
                raise BootstrapError(f"not RUNNING after {self._args.timeout:.0f} s")
            await asyncio.sleep(1)

    async def _entries(self) -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = await self._request(
            "GET", f"/api/config/config_entries/entry?domain={DOMAIN}"
        )
        connections = _connections_on_disk(self._args.config) | self._added
        for entry in entries:
            entry["connection"] = connections.get(entry["entry_id"], "?")
        return entries

    async def report_entries(self) -> bool:
        """Log each Energy Flex entry's state; False when one did not load."""
        ok = True
        for entry in await self._entries():
            reason = f" ({entry['reason']})" if entry.get("reason") else ""
            _log(
                f"energy_flex entry {entry['title']!r} [{entry['connection']}]: "
                f"{entry['state']}{reason}"
            )
            ok = ok and entry["state"] == "loaded"
        return ok

    async def _start_flow(self) -> tuple[str, list[str]]:
        """A new Energy Flex flow: its URL path and the connections its menu offers."""
        flow = await self._request(
            "POST",
            "/api/config/config_entries/flow",
            json_body={"handler": DOMAIN, "show_advanced_options": False},
        )
        if flow.get("type") != "menu":
            raise BootstrapError(f"energy_flex flow: expected a menu, got {flow}")
        return f"/api/config/config_entries/flow/{flow['flow_id']}", list(flow["menu_options"])

    async def _abort_flow(self, path: str) -> None:
        """Do not leave a half-done flow in the UI's "discovered" list."""
        headers = {"Authorization": f"Bearer {self._token}"} if self._token else {}
        async with self._session.delete(self._base + path, headers=headers):
            pass

    async def remove_onboarding_extras(self) -> None:
        """Delete the entries onboarding added that this Home Assistant does not run."""
        entries = await self._request("GET", "/api/config/config_entries/entry")
        for entry in entries:
            if entry["domain"] in ONBOARDING_EXTRAS:
                await self._request(
                    "DELETE", f"/api/config/config_entries/entry/{entry['entry_id']}"
                )
                _log(f"removed {entry['domain']} entry {entry['title']!r} (added by onboarding)")

    async def ensure_entries(self) -> None:
        """Add an entry for each menu connection that has none; raise if a flow fails."""
        configured = {entry["connection"] for entry in await self._entries()}
        form_data = _form_data(self._args)
        path: str | None
        path, menu = await self._start_flow()
        _log(f"energy_flex menu: {', '.join(menu)}")
        failures: list[str] = []
        try:
            for connection in menu:
                if connection in configured:
                    _log(f"{connection}: already configured, skipped")
                    continue
                if connection not in form_data:
                    _log(f"WARNING: {connection}: no simulator known to this script, skipped")
                    continue
                if path is None:
                    path, _ = await self._start_flow()
                flow_path, path = path, None
                try:
                    await self._add(flow_path, connection, form_data[connection])
                except BootstrapError as err:
                    await self._abort_flow(flow_path)
                    _log(f"{connection}: FAILED (the flow's answer follows at the end)")
                    failures.append(f"{connection}: {err}")
        finally:
            if path is not None:
                await self._abort_flow(path)
        if failures:
            raise BootstrapError("energy_flex flows failed:\n  " + "\n  ".join(failures))

    async def _add(self, path: str, connection: str, data: dict[str, Any]) -> None:
        """Menu -> next_step_id -> form -> create_entry, as the frontend does."""
        form = await self._request("POST", path, json_body={"next_step_id": connection})
        if form.get("type") != "form" or form.get("step_id") != connection:
            raise BootstrapError(f"expected the {connection} form, got {json.dumps(form)}")
        result = await self._request("POST", path, json_body=data)
        if result.get("type") != "create_entry":
            raise BootstrapError(f"flow did not create an entry: {json.dumps(result)}")
        entry = result["result"]
        self._added[entry["entry_id"]] = connection
        _log(f"{connection}: added entry {entry['title']!r}: {entry.get('state', '?')}")

    async def ensure_real_time_load(self, ws: HassWebSocket) -> None:
        """Point each PowerFlex site without a real-time load source at the house load."""
        entries = await self._entries()
        sites = [entry for entry in entries if entry["connection"] == "powerflex"]
        if not sites:
            return
        sources = {
            entry["entry_id"]
            for entry in entries
            if entry["connection"] == REAL_TIME_LOAD_CONNECTION
        }
        source = real_time_load_source(await ws.call("config/entity_registry/list"), sources)
        if source is None:
            _log(
                f"WARNING: no {REAL_TIME_LOAD_CONNECTION} {REAL_TIME_LOAD_KEY} sensor; "
                "the PowerFlex site gets no real-time load"
            )
            return
        for site in sites:
            if await self._set_real_time_load(site, source):
                await self._wait_for_entity(ws, site["entry_id"], "real_time_load")

    async def _wait_for_entity(self, ws: HassWebSocket, entry_id: str, key: str) -> None:
        """Wait until the entry's entity `key` is registered (the reload has set it up)."""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            for entity in await ws.call("config/entity_registry/list"):
                if (
                    entity.get("config_entry_id") == entry_id
                    and entity.get("translation_key") == key
                ):
                    return
            await asyncio.sleep(0.5)
        raise BootstrapError(f"no {key} entity 60 s after saving the options")

    async def _set_real_time_load(self, entry: dict[str, Any], source: str) -> bool:
        """The options flow, as the frontend runs it; False when a source was set already."""
        flow = await self._request(
            "POST",
            "/api/config/config_entries/options/flow",
            json_body={"handler": entry["entry_id"], "show_advanced_options": False},
        )
        path = f"/api/config/config_entries/options/flow/{flow.get('flow_id')}"
        if flow.get("type") != "form":
            raise BootstrapError(f"{entry['title']}: expected the options form, got {flow}")
        if current := _suggested(flow.get("data_schema") or [], "real_time_load_entity"):
            await self._abort_flow(path)
            _log(f"{entry['title']!r}: real-time load from {current}, left as it is")
            return False
        result = await self._request("POST", path, json_body=_options_data(source))
        if result.get("type") != "create_entry":
            raise BootstrapError(f"{entry['title']}: options not saved: {json.dumps(result)}")
        _log(
            f"{entry['title']!r}: real-time load from {source}, "
            f"at most every {REAL_TIME_LOAD_INTERVAL} s (the entry reloads)"
        )
        return True

    async def run(self) -> None:
        """Wait, onboard if needed, log in, configure."""
        _log(f"waiting for Home Assistant at {self._base} ...")
        if await self._wait_for("/api/onboarding"):
            steps = await self._request("GET", "/api/onboarding")
            if all(step["done"] for step in steps):
                await self.login()
            else:
                await self.onboard(steps)
        else:
            await self.login()
        _log("waiting until Home Assistant has started ...")
        await self.wait_running()
        await self.ensure_entries()
        await self.wait_entries_settled()
        assert self._token is not None  # login() or onboard() set it
        ws = await HassWebSocket.connect(self._session, self._base, self._token)
        try:
            await self.ensure_real_time_load(ws)
            # Saved options reload the entry: its real_time_load sensor comes with that.
            await self.wait_entries_settled()
            # Late: onboarding adds them in background tasks.
            await self.remove_onboarding_extras()
            if not await self.report_entries():
                _log("WARNING: Energy Flex did not load; see the log for why")
            await self.show(ws)
            _log("checking the calls the frontend makes first ...")
            if problems := await check_frontend(ws):
                problems += _missing_modules(self._args.hass_log)
                raise BootstrapError("the frontend would not load:\n  " + "\n  ".join(problems))
            _log(f"frontend check passed ({', '.join(FRONTEND_FIRST_CALLS)})")
        finally:
            await ws.close()

    async def wait_entries_settled(self) -> None:
        """Wait until no Energy Flex entry is still being set up (their entities exist)."""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            states = {entry["state"] for entry in await self._entries()}
            if not states & {"setup_in_progress", "not_loaded"}:
                return
            await asyncio.sleep(0.5)

    async def show(self, ws: HassWebSocket) -> None:
        """The Energy dashboard and the "Energy Flex" dashboard, from the registries."""
        devices = await fetch_devices(ws)
        _log(await ensure_energy_prefs(ws, devices))
        config = await ensure_dashboard(ws, devices)
        if self._args.dashboard_yaml is not None:
            # The generated config, for docs/dashboard.yaml (entity ids as assigned here).
            self._args.dashboard_yaml.write_text(
                yaml.safe_dump(config, sort_keys=False, allow_unicode=True)
            )


def http_store(port: int, *, created_at: str) -> dict[str, Any]:
    """Home Assistant's HTTP settings store (`.storage/http`): loopback only, on `port`.

    Since Home Assistant 2026.10 an `http:` block in configuration.yaml is migrated into
    this store as a *pending* trial that reverts (and restarts Home Assistant) unless
    someone confirms it in the UI within 5 minutes, and is ignored after that. So the
    development setup writes the confirmed (stable) settings itself, before every start.
    """
    stable = {
        "server_host": ["127.0.0.1"],  # the dev login (dev / dev-password) is public
        "server_port": port,
        "cors_allowed_origins": ["https://cast.home-assistant.io"],
        "login_attempts_threshold": -1,
        "ip_ban_enabled": True,
        "ssl_profile": "modern",
        "use_x_frame_options": True,
        "created_at": created_at,
        "error": None,
        "error_message": None,
    }
    return {
        "version": 2,
        "minor_version": 2,
        "key": "http",
        "data": {"stable": stable, "pending": None, "yaml_migration_done": True},
    }


def write_http_config(config: Path, port: int) -> None:
    """Write `http_store` into `config` (Home Assistant must not be running)."""
    storage = config / ".storage"
    storage.mkdir(parents=True, exist_ok=True)
    created_at = datetime.now(UTC).isoformat()
    (storage / "http").write_text(json.dumps(http_store(port, created_at=created_at), indent=2))


def onboarding_store(done: Iterable[str]) -> dict[str, Any]:
    """Home Assistant's onboarding store (`.storage/onboarding`) with `done` steps."""
    return {
        "version": ONBOARDING_STORE_VERSION,
        "minor_version": 1,
        "key": "onboarding",
        "data": {"done": list(done)},
    }


def preseed_onboarding(config: Path) -> bool:
    """On a config directory Home Assistant never ran on, record the preseeded steps.

    False (and nothing written) once it has an onboarding store: its steps are its own.
    """
    path = config / ".storage" / "onboarding"
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(onboarding_store(PRESEEDED_ONBOARDING_STEPS), indent=2))
    return True


def prepare_storage(config: Path, port: int) -> None:
    """Before every start: the HTTP settings; before the first, the preseeded steps."""
    write_http_config(config, port)
    preseed_onboarding(config)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8123")
    parser.add_argument("--config", type=Path, default=Path("config"))
    parser.add_argument("--hass-pid", type=int, help="fail fast when this process exits")
    parser.add_argument("--timeout", type=float, default=900, help="seconds to wait for HA")
    parser.add_argument("--sim-host", default="127.0.0.1", help="where the simulators listen")
    parser.add_argument("--fems-read-port", type=int, default=18084)
    parser.add_argument("--fems-write-port", type=int, default=18080)
    parser.add_argument("--fems-modbus-port", type=int, default=15502)
    parser.add_argument("--sonnen-port", type=int, default=18088)
    parser.add_argument("--flexconnect-port", type=int, default=18090)
    parser.add_argument(
        "--flexconnect-ski",
        action="append",
        metavar="SKI",
        help="a FlexConnect simulator battery (repeat; default: the simulator's two)",
    )
    parser.add_argument("--fems-cloud-port", type=int, default=18094)
    parser.add_argument("--fems-cloud-username", default=DEFAULT_FEMS_CLOUD_USERNAME)
    parser.add_argument("--fems-cloud-password", default=DEFAULT_FEMS_CLOUD_PASSWORD)
    parser.add_argument(
        "--fems-cloud-edge",
        action="append",
        metavar="EDGE_ID",
        help="an edge of the FEMS cloud account (repeat; default: fems1001 and fems1002)",
    )
    parser.add_argument("--powerflex-port", type=int, default=18095)
    parser.add_argument("--powerflex-site", type=int, default=DEFAULT_POWERFLEX_SITE)
    parser.add_argument("--powerflex-username", default=DEFAULT_POWERFLEX_USERNAME)
    parser.add_argument("--powerflex-password", default=DEFAULT_POWERFLEX_PASSWORD)
    parser.add_argument("--hass-log", type=Path, help="Home Assistant's output, for hints")
    parser.add_argument(
        "--dashboard-yaml", type=Path, help="also write the dashboard's config to this file"
    )
    parser.add_argument("--quiet", action="store_true", help="with --check-requirements")
    parser.add_argument(
        "--prepare-storage",
        type=int,
        metavar="PORT",
        help="only write Home Assistant's HTTP settings (loopback, PORT) into <config> and, "
        "on a new <config>, the onboarding steps that need no one; then exit",
    )
    parser.add_argument(
        "--check-requirements",
        action="store_true",
        help="only check that no integration of <config>/configuration.yaml needs a "
        "package that is not installed, then exit",
    )
    return parser


def check_requirements(config: Path, *, quiet: bool = False) -> int:
    """0 when Home Assistant will find every package it needs installed; else say which."""
    # Imports Home Assistant: only this mode needs it.
    from scripts.develop_requirements import (  # noqa: PLC0415
        DEVELOP_REQUIREMENTS,
        canonical,
        develop_pins,
        needed_domains,
        unmet_requirements,
    )

    missing = unmet_requirements(needed_domains(config))
    if quiet:
        return 1 if missing else 0
    pins = develop_pins()
    for unmet in missing:
        name = canonical(unmet.requirement.split("==", 1)[0])
        where = (
            f"pinned in {DEVELOP_REQUIREMENTS.name}"
            if pins.get(name) == unmet.requirement
            else f"add it to {DEVELOP_REQUIREMENTS.name}"
        )
        print(
            f"develop: Home Assistant's {unmet.integration} needs {unmet.requirement}, "
            f"which is not installed in .venv ({where})",
            file=sys.stderr,
        )
    return 1 if missing else 0


async def _main(args: argparse.Namespace) -> int:
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        try:
            await Bootstrap(session, args).run()
        except BootstrapError as err:
            print(f"bootstrap: FAILED: {err}", file=sys.stderr, flush=True)
            return 1
    return 0


if __name__ == "__main__":
    try:
        arguments = _parser().parse_args()
        if arguments.prepare_storage is not None:
            prepare_storage(arguments.config, arguments.prepare_storage)
            sys.exit(0)
        if arguments.check_requirements:
            sys.exit(check_requirements(arguments.config, quiet=arguments.quiet))
        sys.exit(asyncio.run(_main(arguments)))
    except KeyboardInterrupt:
        sys.exit(130)
