"""Prepare the development Home Assistant that scripts/develop started.

Waits until Home Assistant answers, onboards it with the dev owner if that has not
happened yet, logs in, and adds one Energy Flex entry per connection in the flow's
vendor menu (FEMS REST, FEMS Modbus, sonnen, FlexConnect), each pointed at its simulator,
through the real config-flow API (the same calls the frontend makes): menu, then
next_step_id, then the form. A connection that already has an entry is skipped, so this
is safe to run again on an already prepared config directory.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp

NAME = "Dev"
USERNAME = "dev"
PASSWORD = "dev-password"
ONBOARDING_STEPS = {"user", "core_config", "analytics", "integration"}
DOMAIN = "energy_flex"
# The FlexConnect simulator's default batteries (simulators/flexconnect/simulator.py DEFAULT_SKIS);
# scripts/develop passes the same SKIs to the simulator and to this script.
DEFAULT_FLEXCONNECT_SKIS = (
    "90D2A30FA3D2AD48525CD255F469C167ECF8292C",
    "5C3A81E0B7D94F26A1C0E4D2B8F7A6390C1D2E3F",
)


class BootstrapError(Exception):
    """Something answered unexpectedly; the message says what."""


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
    }


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
        headers = {"Authorization": f"Bearer {self._token}"}
        async with self._session.delete(self._base + path, headers=headers):
            pass

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
        if not await self.report_entries():
            _log("WARNING: Energy Flex did not load; see the log for why")


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
    return parser


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
        sys.exit(asyncio.run(_main(_parser().parse_args())))
    except KeyboardInterrupt:
        sys.exit(130)
