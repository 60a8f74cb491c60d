"""Static channels (capacity, version, hostname) are read once, then only now and then."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from custom_components.energy_flex.api.errors import ApiConnectionError
from custom_components.energy_flex.api.fems_rest import (
    LIVE_PATH,
    POLL_PATH,
    STATIC_EVERY_POLLS,
    FemsRestClient,
    FemsRestEndpoint,
)
from simulators.fems_rest import FemsRestSimulator

from .conftest import READ_PASSWORD


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """A plain aiohttp session."""
    async with aiohttp.ClientSession() as client_session:
        yield client_session


def _client(
    session: aiohttp.ClientSession, fems: FemsRestSimulator, every: int = 3
) -> FemsRestClient:
    endpoint = FemsRestEndpoint("127.0.0.1", fems.read_port, READ_PASSWORD)
    return FemsRestClient(session, endpoint, static_every_polls=every)


def _paths(fems: FemsRestSimulator) -> list[str]:
    """What each GET asked for, as "static" (every channel) or "live"."""
    kinds = {POLL_PATH: "static", LIVE_PATH: "live"}
    return [kinds[path] for method, path in fems.requests.log if method == "GET"]


def test_the_live_path_reads_no_static_channel() -> None:
    """The every-poll regex names none of the static channels or their components."""
    for name in ("EssCapacity", "Version", "Hostname", "_meta", "_host"):
        assert name not in LIVE_PATH
        assert name in POLL_PATH
    assert STATIC_EVERY_POLLS * 10 == 3600  # an hour of 10 s polls


async def test_static_channels_are_read_once_then_every_n_polls(
    session: aiohttp.ClientSession, fems: FemsRestSimulator
) -> None:
    """One request per poll always; the static channels at polls 1, 4, 7 (every 3)."""
    client = _client(session, fems)
    snapshots = [await client.async_get_snapshot() for _ in range(7)]
    assert _paths(fems) == ["static", "live", "live", "static", "live", "live", "static"]
    assert fems.requests.total == 7
    # Every snapshot carries the static values, read or remembered.
    for snapshot in snapshots:
        assert snapshot.hostname == "fems12345"
        assert snapshot.version == "2026.5.0"
        assert snapshot.capacity == 10000
        assert snapshot.soc is not None


async def test_a_live_poll_is_smaller(
    session: aiohttp.ClientSession, fems: FemsRestSimulator
) -> None:
    """The live answer leaves out the static channels (bytes saved on every poll)."""
    headers = {"Authorization": aiohttp.encode_basic_auth("x", READ_PASSWORD)}
    async with session.get(f"{fems.read_url}{POLL_PATH}", headers=headers) as full:
        full_addresses = {item["address"] for item in await full.json()}
    async with session.get(f"{fems.read_url}{LIVE_PATH}", headers=headers) as live:
        live_addresses = {item["address"] for item in await live.json()}
    assert full_addresses - live_addresses == {
        "_sum/EssCapacity",
        "_sum/EssMaxApparentPower",
        "_meta/Version",
        "_host/Hostname",
    }


async def test_undefined_static_channel_is_read_again(
    session: aiohttp.ClientSession, fems: FemsRestSimulator
) -> None:
    """A FEMS still starting reports its capacity as null: ask again until it is known."""
    client = _client(session, fems, every=100)
    fems.undefined.add("_sum/EssCapacity")
    assert (await client.async_get_snapshot()).capacity is None
    assert (await client.async_get_snapshot()).capacity is None
    fems.undefined.clear()
    assert (await client.async_get_snapshot()).capacity == 10000
    assert (await client.async_get_snapshot()).capacity == 10000
    assert _paths(fems) == ["static", "static", "static", "live"]


async def test_firmware_without_a_static_channel_is_not_asked_again(
    session: aiohttp.ClientSession, fems: FemsRestSimulator
) -> None:
    """A channel the firmware does not have at all (no `_host`) is simply absent."""
    client = _client(session, fems, every=100)
    fems.disabled_components.add("_host")
    first = await client.async_get_snapshot()
    second = await client.async_get_snapshot()
    assert first.hostname is None
    assert second.hostname is None
    assert second.capacity == 10000
    assert _paths(fems) == ["static", "live"]


async def test_after_a_failed_poll_static_channels_are_read_again(
    session: aiohttp.ClientSession, fems: FemsRestSimulator
) -> None:
    """A FEMS that failed a poll may have restarted with new firmware."""
    client = _client(session, fems, every=100)
    await client.async_get_snapshot()
    fems.faults.error_status = 503
    with pytest.raises(ApiConnectionError):
        await client.async_get_snapshot()
    fems.faults.reset()
    await client.async_get_snapshot()
    await client.async_get_snapshot()
    assert _paths(fems) == ["static", "live", "static", "live"]
