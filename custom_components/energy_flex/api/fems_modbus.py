"""FENECON FEMS local Modbus/TCP client (OpenEMS `Controller.Api.ModbusTcp.*`).

One TCP connection per device (`modbus_tcp.ModbusTcpClient`), opened on demand and shared
by polls and writes (a lock serialises them). Every new connection first walks the
self-describing table (§2.3), so addresses are discovered, never assumed:
SetActivePowerEquals is at 706 on a FEMS Home and at 806 on a FENECON Pro. The device
closes a connection after 60 s without traffic and on restarts; the next call reconnects
(and re-discovers) without the caller noticing. See `fems-openems-api-notes.md` §2.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from .errors import ApiConnectionError, ApiResponseError, ApiWriteRejectedError, WriteRejectedReason
from .fems import (
    GRID_MODE_BY_VALUE,
    SET_ACTIVE_POWER_EQUALS,
    SET_ACTIVE_POWER_GREATER_OR_EQUALS,
    SET_ACTIVE_POWER_LESS_OR_EQUALS,
    STATE_BY_VALUE,
    FemsSnapshot,
)
from .fems_modbus_table import (
    HASH_MANAGED_SYMMETRIC_ESS,
    HASH_OPENEMS_COMPONENT,
    HASH_SUM,
    MAX_READ_REGISTERS,
    META_READ_COUNT,
    SUM_ID,
    ComponentBlock,
    FemsModbusMeta,
    ModbusType,
    NatureBlock,
    ReadRange,
    RegisterValue,
    TableLayout,
    decode_range,
    parse_meta,
    plan_reads,
    walk_components,
)
from .modbus_tcp import (
    ModbusConnectionError,
    ModbusExceptionError,
    ModbusProtocolError,
    ModbusTcpClient,
)
from .values import as_enum, as_number

DEFAULT_PORT: Final = 502
UNIT_ID: Final = 1  # any other unit id gets exception 0x02
DEFAULT_TIMEOUT_S: Final = 5.0

# ManagedSymmetricEss record offsets (from nature start + 2); all float32, write-only.
_SETPOINT_OFFSETS: Final = {
    SET_ACTIVE_POWER_EQUALS: 4,
    SET_ACTIVE_POWER_LESS_OR_EQUALS: 8,
    SET_ACTIVE_POWER_GREATER_OR_EQUALS: 12,
}
# NaN is "undefined" on Modbus: the firmware applies it as null, i.e. releases (§2.9).
_RELEASE: Final = float("nan")

# (snapshot field, record offset, type) per nature, as in `Sum.java` and the ESS natures.
_STATE: Final = (("state", 0, ModbusType.ENUM16),)
_SUM_RECORDS: Final = (
    ("soc", 0, ModbusType.UINT16),
    ("grid_power", 13, ModbusType.FLOAT32),
    ("production_power", 25, ModbusType.FLOAT32),
    ("consumption_power", 41, ModbusType.FLOAT32),
    ("grid_imported_energy", 57, ModbusType.FLOAT64),
    ("grid_exported_energy", 61, ModbusType.FLOAT64),
    ("produced_energy", 65, ModbusType.FLOAT64),
    ("consumed_energy", 77, ModbusType.FLOAT64),
    ("battery_charged_energy", 81, ModbusType.FLOAT64),  # EssDcChargeEnergy
    ("battery_discharged_energy", 85, ModbusType.FLOAT64),  # EssDcDischargeEnergy
    ("battery_power", 113, ModbusType.FLOAT32),  # EssDischargePower, + discharge
    ("grid_mode", 115, ModbusType.ENUM16),
)
# Changes only with the installation, which a FEMS does not change without a restart:
# read at the first poll on each connection (every restart means a new one), and again
# while undefined, not on every poll.
_STATIC_SUM_RECORDS: Final = (("capacity", 118, ModbusType.FLOAT32),)  # EssCapacity
# Sum records later releases added (notes §2.6). On older firmware they lie inside the
# nature but are unmapped (0xFFFF): this FEMS does not have them, though it answers.
_SUM_SINCE: Final[Mapping[str, tuple[int, int, int]]] = {
    "battery_charged_energy": (2021, 11, 0),
    "battery_discharged_energy": (2021, 11, 0),
    "battery_power": (2021, 11, 0),
    "grid_mode": (2022, 4, 0),
    "capacity": (2024, 11, 0),
}
_MANAGED_ESS_RECORDS: Final = (
    ("allowed_charge_power", 0, ModbusType.FLOAT32),  # minimum power set-point (≤ 0)
    ("allowed_discharge_power", 2, ModbusType.FLOAT32),  # maximum power set-point
)


@dataclass(frozen=True, slots=True)
class FemsModbusTable:
    """A discovered table: its layout, the reads one poll makes and the setpoint base."""

    layout: TableLayout
    # A poll's reads: the live values and the guards, skipping gaps wherever that adds
    # no read.
    reads: tuple[ReadRange, ...]
    # The first poll's reads on a connection: also the static values.
    full_reads: tuple[ReadRange, ...]
    # The header word each poll re-reads (value name → expected hash): if it changes, the
    # device was reconfigured and the addresses must be discovered again.
    guards: Mapping[str, int]
    static_names: tuple[str, ...]
    # The controlled ESS and where its ManagedSymmetricEss records begin, if exposed.
    ess: ComponentBlock | None
    setpoint_base: int | None
    # The snapshot fields this table has a register for (the rest this FEMS lacks).
    present: frozenset[str] = frozenset()

    @property
    def meta(self) -> FemsModbusMeta:
        """The device's `_meta` block."""
        return self.layout.meta

    def setpoint_address(self, channel: str) -> int | None:
        """The float32 write address of an ESS write channel, if the table has one."""
        if self.setpoint_base is None:
            return None
        return self.setpoint_base + _SETPOINT_OFFSETS[channel]


def build_table(layout: TableLayout, max_registers: int = MAX_READ_REGISTERS) -> FemsModbusTable:
    """Locate every value a poll needs in a walked table and plan the reads."""
    total = layout.component(SUM_ID)
    sum_nature = total.nature(HASH_SUM) if total else None
    if total is None or sum_nature is None:
        raise ApiResponseError("the Modbus table has no _sum component")
    values = list(_values(total.nature(HASH_OPENEMS_COMPONENT), _STATE))
    values.extend(_values(sum_nature, _SUM_RECORDS))
    ess = layout.managed_ess()
    managed = ess.nature(HASH_MANAGED_SYMMETRIC_ESS) if ess else None
    values.extend(_values(managed, _MANAGED_ESS_RECORDS))
    static = _values(sum_nature, _STATIC_SUM_RECORDS)
    # A nature's hash sits just before its records, so checking it costs a few registers
    # inside a read that happens anyway. One suffices: the last nature read starts where
    # every block before it ends, so a reconfiguration that moves or resizes anything it
    # reads moves that hash too (a reset table reads 0xFFFF there).
    last = managed if managed is not None else sum_nature
    guard = RegisterValue(f"guard_{last.start}", last.start, ModbusType.UINT16)
    guards = {guard.name: last.hash}
    values.append(guard)
    return FemsModbusTable(
        layout=layout,
        reads=plan_reads(values, max_registers),
        full_reads=plan_reads([*values, *static], max_registers),
        guards=guards,
        static_names=tuple(value.name for value in static),
        ess=ess,
        setpoint_base=managed.records_start if managed else None,
        present=_present(layout.meta, {value.name for value in (*values, *static)} - set(guards)),
    )


def _present(meta: FemsModbusMeta, mapped: set[str]) -> frozenset[str]:
    """The snapshot fields this FEMS has: in its table, and mapped by its firmware."""
    version = _version(meta.version)
    if version is not None:
        mapped -= {name for name, since in _SUM_SINCE.items() if version < since}
    return frozenset({"version", *mapped})


def _version(text: str | None) -> tuple[int, ...] | None:
    """`_meta`'s "2024.10.0" as (2024, 10, 0); unknown: every register counts as mapped."""
    return None if text is None else tuple(int(part) for part in text.split("."))


def _values(
    nature: NatureBlock | None, records: tuple[tuple[str, int, ModbusType], ...]
) -> list[RegisterValue]:
    # Records beyond a nature's length do not exist on this firmware: not read, unknown.
    if nature is None:
        return []
    return [
        RegisterValue(name, nature.records_start + offset, kind)
        for name, offset, kind in records
        if nature.holds(offset, kind)
    ]


class _StaleTableError(Exception):
    """The device answered with an exception or moved a header: addresses are stale."""


class FemsModbusClient:
    """Reads (and, with the read-write app, writes) one FEMS over Modbus/TCP."""

    def __init__(
        self,
        host: str,
        port: int = DEFAULT_PORT,
        *,
        read_write: bool = False,
        timeout: float | None = None,
        max_read_registers: int = MAX_READ_REGISTERS,
    ) -> None:
        """Nothing is opened yet; the first call connects."""
        self._host = host
        self._port = port
        self._read_write = read_write
        # The module default is read now, not at import, so it can be configured.
        self._timeout = DEFAULT_TIMEOUT_S if timeout is None else timeout
        self._max_read_registers = max_read_registers
        self._lock = asyncio.Lock()
        self._modbus = ModbusTcpClient(
            UNIT_ID, timeout=self._timeout, on_connection_lost=self._on_connection_lost
        )
        self._table: FemsModbusTable | None = None
        # The static values read on this connection; None: the next poll reads them.
        self._static: dict[str, float | str | None] | None = None
        self._lost = False
        self.connections_opened = 0

    def __repr__(self) -> str:
        """Where the device is."""
        return f"FemsModbusClient(host={self._host!r}, port={self._port})"

    @property
    def read_write(self) -> bool:
        """Whether the user said the read-write Modbus app is installed."""
        return self._read_write

    @property
    def connected(self) -> bool:
        """Whether a connection is open now."""
        return self._modbus.connected

    @property
    def table(self) -> FemsModbusTable | None:
        """The table discovered on the current connection, if any."""
        return self._table

    async def async_get_table(self) -> FemsModbusTable:
        """Connect if needed and return the discovered table."""
        return await self._call(_table_only)

    async def async_get_snapshot(self) -> FemsSnapshot:
        """Poll every register in use with the planned reads (3 on a FEMS Home).

        The static ones (capacity) are read at the first poll on each connection only.
        """
        return await self._call(self._poll)

    async def async_set_channel(self, channel: str, value: float | None) -> None:
        """Write one ESS write channel as float32 with FC 16; `None` releases (NaN).

        Writes to the read-only API are silently ignored by the device, so a client that
        was not told the read-write app is installed refuses to send anything.
        """
        if channel not in _SETPOINT_OFFSETS:
            raise ValueError(f"not an ESS write channel: {channel}")
        if not self._read_write:
            raise ApiWriteRejectedError(WriteRejectedReason.READ_ONLY_API)
        number = _RELEASE if value is None else float(round(value))
        words = list(struct.unpack(">HH", struct.pack(">f", number)))

        async def write(modbus: ModbusTcpClient, table: FemsModbusTable) -> None:
            address = table.setpoint_address(channel)
            if address is None:
                # Neither ess0 nor any managed ESS is in the table's component_ids.
                raise ApiWriteRejectedError(WriteRejectedReason.NOT_ACCEPTED)
            try:
                await modbus.write_registers(address, words)
            except ModbusExceptionError as err:
                raise _StaleTableError(f"exception {err.code} on write") from err

        await self._call(write)

    async def async_close(self) -> None:
        """Close the connection (on unload); a later call would open a new one."""
        async with self._lock:
            self._disconnect()

    def diagnostics(self) -> dict[str, Any]:
        """The discovered layout and read plan, for support (no serial numbers)."""
        table = self._table
        if table is None:
            return {"connected": self.connected, "table": None}
        return {
            "connected": self.connected,
            "connections_opened": self.connections_opened,
            "version": table.meta.version,
            "components": [
                {
                    "id": block.id,
                    "start": block.start,
                    "length": block.length,
                    "natures": [[f"0x{n.hash:04X}", n.start, n.length] for n in block.natures],
                }
                for block in table.layout.components
            ],
            "reads": [[read.start, read.count] for read in table.reads],
            "full_reads": [[read.start, read.count] for read in table.full_reads],
            "controlled_ess": table.ess.id if table.ess else None,
            "set_active_power_equals": table.setpoint_address(SET_ACTIVE_POWER_EQUALS),
        }

    # --- one request at a time, on one connection ------------------------------------------

    async def _call[T](
        self, operation: Callable[[ModbusTcpClient, FemsModbusTable], Awaitable[T]]
    ) -> T:
        async with self._lock:
            for attempt in (1, 2):
                try:
                    modbus, table = await self._session()
                    return await operation(modbus, table)
                except _StaleTableError as err:
                    # Reconfigured (or restarted with another table): walk it again, once.
                    self._disconnect()
                    if attempt == 2:
                        raise ApiResponseError(str(err)) from err
                except ModbusProtocolError as err:
                    # An answer out of step with its request; the connection is closed.
                    self._disconnect()
                    raise ApiResponseError(str(err)) from err
                except (ModbusConnectionError, TimeoutError) as err:
                    lost = self._lost
                    self._disconnect()
                    # A connection the device had just closed: reconnect once, quietly.
                    if not lost or attempt == 2:
                        raise ApiConnectionError(str(err)) from err
                except asyncio.CancelledError:
                    # Unload or shutdown: a late answer must not meet the next call.
                    self._disconnect()
                    raise
            raise AssertionError("unreachable")  # pragma: no cover

    async def _session(self) -> tuple[ModbusTcpClient, FemsModbusTable]:
        modbus = self._modbus
        if not modbus.connected or self._table is None:
            # First use, closed by the device (idle 60 s, restart) or a stale table.
            await self._connect()
            try:
                self._table = await self._discover(modbus)
            except BaseException:
                self._disconnect()
                raise
        return modbus, self._table

    async def _connect(self) -> None:
        self._disconnect()
        self._lost = False
        # No retries here: this client decides when to reconnect, so there is never a
        # second connection in flight. An offline device is logged once, by the coordinator.
        await self._modbus.connect(self._host, self._port)
        self.connections_opened += 1

    def _on_connection_lost(self) -> None:
        # The device closed the socket (a waiting request has already failed): the next
        # failure on this connection is worth one quiet retry on a new one.
        self._lost = True

    def _disconnect(self) -> None:
        self._modbus.close()
        self._table = None
        self._static = None

    async def _read(self, modbus: ModbusTcpClient, address: int, count: int) -> list[int]:
        try:
            return await modbus.read_holding_registers(address, count)
        except ModbusExceptionError as err:
            raise _StaleTableError(f"exception {err.code} reading {address}") from err

    async def _discover(self, modbus: ModbusTcpClient) -> FemsModbusTable:
        async def read(address: int, count: int) -> list[int]:
            return await self._read(modbus, address, count)

        meta, first = parse_meta(await read(0, META_READ_COUNT))
        components = await walk_components(read, first)
        return build_table(TableLayout(meta, components), self._max_read_registers)

    async def _poll(self, modbus: ModbusTcpClient, table: FemsModbusTable) -> FemsSnapshot:
        static = self._static
        values: dict[str, float | str | None] = {}
        for read_range in table.full_reads if static is None else table.reads:
            words = await self._read(modbus, read_range.start, read_range.count)
            values.update(decode_range(read_range, words))
        if any(values.get(name) != expected for name, expected in table.guards.items()):
            raise _StaleTableError("the Modbus table changed")
        if static is None:
            static = {name: values.get(name) for name in table.static_names}
            # One still undefined (the FEMS is starting) is read again at the next poll;
            # one this firmware does not map (0xFFFF for good) is not.
            starting = any(
                value is None and name in table.present for name, value in static.items()
            )
            self._static = None if starting else static
        return _snapshot(table.meta, values | static, table.present)


async def _table_only(_modbus: ModbusTcpClient, table: FemsModbusTable) -> FemsModbusTable:
    return table


def _snapshot(
    meta: FemsModbusMeta, values: Mapping[str, float | str | None], present: frozenset[str]
) -> FemsSnapshot:
    def number(name: str) -> float | None:
        return as_number(values.get(name))

    return FemsSnapshot(
        version=meta.version,
        state=as_enum(values.get("state"), STATE_BY_VALUE),
        soc=number("soc"),
        battery_power=number("battery_power"),
        capacity=number("capacity"),
        grid_power=number("grid_power"),
        grid_mode=as_enum(values.get("grid_mode"), GRID_MODE_BY_VALUE),
        production_power=number("production_power"),
        consumption_power=number("consumption_power"),
        battery_charged_energy=number("battery_charged_energy"),
        battery_discharged_energy=number("battery_discharged_energy"),
        grid_imported_energy=number("grid_imported_energy"),
        grid_exported_energy=number("grid_exported_energy"),
        produced_energy=number("produced_energy"),
        consumed_energy=number("consumed_energy"),
        allowed_charge_power=number("allowed_charge_power"),
        allowed_discharge_power=number("allowed_discharge_power"),
        present=present,
    )


__all__ = [
    "DEFAULT_PORT",
    "FemsModbusClient",
    "FemsModbusMeta",
    "FemsModbusTable",
    "build_table",
]
