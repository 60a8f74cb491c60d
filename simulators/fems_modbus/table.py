"""The OpenEMS Modbus/TCP process image: records, nature tables, layouts (notes §2).

Built like `AbstractModbusApi.initializeModbusRecords`: register 0 holds the hash of
"OpenEMS", register 1 the `_meta` length (199), then one block per configured component
(16-word id, block length, 3 unused words, then its nature blocks: hash, length, records).
Reads and writes follow `MyProcessImage`: record by record, 0xFFFF where there is no
record, exception 0x02 when a multi-word record starts inside the range but does not fit.

This module is written from the notes independently of the integration's client, so the
two cannot share a misreading.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from typing import Final

from ..fems.firmware import Version
from ..jsontypes import JsonScalar

OPENEMS_HASH: Final = 0x6201
META_LENGTH: Final = 199
FIRST_COMPONENT: Final = 1 + META_LENGTH  # 200
UNMAPPED: Final = 0xFFFF
MAX_READ: Final = 126  # "max. 126 registers allowed"
COMPONENT_HEADER: Final = 20


def java_hash16(text: str) -> int:
    """`String.hashCode() & 0xFFFF`, as `ModbusSlaveNatureTable.generateHash`."""
    value = 0
    for char in text:
        value = (31 * value + ord(char)) & 0xFFFFFFFF
    return value & 0xFFFF


class RecordType(Enum):
    """`ModbusType` with its size in words."""

    UINT16 = ("uint16", 1)
    ENUM16 = ("enum16", 1)
    UINT32 = ("uint32", 2)
    UINT64 = ("uint64", 4)
    FLOAT32 = ("float32", 2)
    FLOAT64 = ("float64", 4)
    STRING16 = ("string16", 16)

    @property
    def words(self) -> int:
        return self.value[1]


def encode(kind: RecordType, value: JsonScalar) -> tuple[int, ...]:
    """Big-endian words, high word first; `None` gives the type's undefined encoding."""
    if kind is RecordType.STRING16:
        text = "" if value is None else str(value)
        raw = text.encode("ascii", "replace")[:32].ljust(32, b"\x00")  # 16 x 0x0000 if None
        return struct.unpack(">16H", raw)
    if kind in (RecordType.FLOAT32, RecordType.FLOAT64):
        number = float("nan") if value is None or isinstance(value, str) else float(value)
        # NaN must be the canonical 0x7FC00000 / 0x7FF8000000000000 (Java's NaN).
        if kind is RecordType.FLOAT32:
            raw = b"\x7f\xc0\x00\x00" if math.isnan(number) else struct.pack(">f", number)
        else:
            raw = b"\x7f\xf8" + b"\x00" * 6 if math.isnan(number) else struct.pack(">d", number)
        return struct.unpack(f">{kind.words}H", raw)
    bits = 16 * kind.words
    if value is None or isinstance(value, str):
        integer = (1 << bits) - 1  # all ones: 0xFFFF, 0xFFFFFFFF, 0xFFFF…FFFF
    else:
        integer = int(value) & ((1 << bits) - 1)  # negative → two's complement
    return tuple((integer >> (16 * (kind.words - 1 - i))) & 0xFFFF for i in range(kind.words))


def decode_float32(words: Sequence[int]) -> float:
    (value,) = struct.unpack(">f", struct.pack(">2H", *words))
    return float(value)


class Access(StrEnum):
    RO = "RO"
    WO = "WO"


@dataclass(frozen=True, slots=True)
class RecordSpec:
    """One record of a nature table: offset from nature start + 2, channel (None = reserved)."""

    offset: int
    kind: RecordType
    channel: str | None
    access: Access = Access.RO
    since: Version | None = None  # first firmware release that maps this record


@dataclass(frozen=True, slots=True)
class NatureSpec:
    name: str
    length: int
    records: tuple[RecordSpec, ...] = ()

    @property
    def hash(self) -> int:
        return java_hash16(self.name)


def _f32(offset: int, channel: str | None, since: Version | None = None) -> RecordSpec:
    return RecordSpec(offset, RecordType.FLOAT32, channel, since=since)


def _f64(offset: int, channel: str, since: Version | None = None) -> RecordSpec:
    return RecordSpec(offset, RecordType.FLOAT64, channel, since=since)


def _wo(offset: int, channel: str) -> RecordSpec:
    return RecordSpec(offset, RecordType.FLOAT32, channel, Access.WO)


_L_PHASES: Final = (2019, 9, 0)
_DC_ENERGY: Final = (2021, 11, 0)

OPENEMS_COMPONENT: Final = NatureSpec(
    "OpenemsComponent", 80, (RecordSpec(0, RecordType.ENUM16, "State"),)
)
SUM: Final = NatureSpec(
    "Sum",
    220,
    (
        RecordSpec(0, RecordType.UINT16, "EssSoc"),
        _f32(1, "EssActivePower"),
        _f32(3, None),  # EssMinActivePower (reserved)
        _f32(5, None),  # EssMaxActivePower (reserved)
        _f32(7, "EssReactivePower"),
        _f32(9, None),
        _f32(11, None),
        _f32(13, "GridActivePower"),
        _f32(15, "GridMinActivePower"),
        _f32(17, "GridMaxActivePower"),
        _f32(19, None),
        _f32(21, None),
        _f32(23, None),
        _f32(25, "ProductionActivePower"),
        _f32(27, "ProductionMaxActivePower"),
        _f32(29, "ProductionAcActivePower"),
        _f32(31, None),
        _f32(33, None),
        _f32(35, None),
        _f32(37, "ProductionDcActualPower"),
        _f32(39, None),
        _f32(41, "ConsumptionActivePower"),
        _f32(43, "ConsumptionMaxActivePower"),
        _f32(45, None),
        _f32(47, None),
        _f64(49, "EssActiveChargeEnergy"),
        _f64(53, "EssActiveDischargeEnergy"),
        _f64(57, "GridBuyActiveEnergy"),
        _f64(61, "GridSellActiveEnergy"),
        _f64(65, "ProductionActiveEnergy"),
        _f64(69, "ProductionAcActiveEnergy"),
        _f64(73, "ProductionDcActiveEnergy"),
        _f64(77, "ConsumptionActiveEnergy"),
        _f64(81, "EssDcChargeEnergy", _DC_ENERGY),
        _f64(85, "EssDcDischargeEnergy", _DC_ENERGY),
        _f32(89, "EssActivePowerL1", _L_PHASES),
        _f32(91, "EssActivePowerL2", _L_PHASES),
        _f32(93, "EssActivePowerL3", _L_PHASES),
        _f32(95, "GridActivePowerL1", _L_PHASES),
        _f32(97, "GridActivePowerL2", _L_PHASES),
        _f32(99, "GridActivePowerL3", _L_PHASES),
        _f32(101, "ProductionAcActivePowerL1", _L_PHASES),
        _f32(103, "ProductionAcActivePowerL2", _L_PHASES),
        _f32(105, "ProductionAcActivePowerL3", _L_PHASES),
        _f32(107, "ConsumptionActivePowerL1", _L_PHASES),
        _f32(109, "ConsumptionActivePowerL2", _L_PHASES),
        _f32(111, "ConsumptionActivePowerL3", _L_PHASES),  # 413, not the seed's 412
        _f32(113, "EssDischargePower", _DC_ENERGY),
        RecordSpec(115, RecordType.ENUM16, "GridMode", since=(2022, 4, 0)),
        _f32(116, "GridModeOffGridTime", (2024, 8, 0)),
        _f32(118, "EssCapacity", (2024, 11, 0)),
    ),
)
SYMMETRIC_ESS: Final = NatureSpec(
    "SymmetricEss",
    100,
    (
        RecordSpec(0, RecordType.UINT16, "Soc"),
        RecordSpec(1, RecordType.ENUM16, "GridMode"),
        _f32(2, "ActivePower"),
        _f32(4, "ReactivePower"),
        _f32(6, "MinCellVoltage"),
        _f32(8, "MaxCellVoltage"),
        _f32(10, "MinCellTemperature"),
        _f32(12, "MaxCellTemperature"),
        _f32(14, "Capacity"),
        _f32(16, "MaxApparentPower"),
    ),
)
MANAGED_SYMMETRIC_ESS: Final = NatureSpec(
    "ManagedSymmetricEss",
    100,
    (
        # "Minimum / Maximum Power Set-Point" of this cycle (the seed's "Allowed…Power").
        _f32(0, "AllowedChargePower"),
        _f32(2, "AllowedDischargePower"),
        _wo(4, "SetActivePowerEquals"),
        _wo(6, "SetReactivePowerEquals"),
        _wo(8, "SetActivePowerLessOrEquals"),
        _wo(10, "SetReactivePowerLessOrEquals"),
        _wo(12, "SetActivePowerGreaterOrEquals"),
        _wo(14, "SetReactivePowerGreaterOrEquals"),
    ),
)
ASYMMETRIC_ESS: Final = NatureSpec(
    "AsymmetricEss",
    100,
    (_f32(0, "ActivePowerL1"), _f32(2, "ActivePowerL2"), _f32(4, "ActivePowerL3")),
)
HYBRID_ESS: Final = NatureSpec(
    "HybridEss",
    100,
    (
        # A uint16 that holds a signed value (two's complement), as in the firmware.
        RecordSpec(0, RecordType.UINT16, "DcDischargePower"),
        _f64(1, "DcChargeEnergy"),
        _f64(5, "DcDischargeEnergy"),
    ),
)
GOODWE_ESS: Final = NatureSpec("GoodWeEss", 100)  # a nature without records

SUM_NATURES: Final = (OPENEMS_COMPONENT, SUM)


@dataclass(frozen=True, slots=True)
class EssLayout:
    """The natures an ESS implementation exposes, in `getModbusSlaveTable` order."""

    name: str
    natures: tuple[NatureSpec, ...]

    @property
    def length(self) -> int:
        return sum(nature.length for nature in self.natures)


FEMS_HOME: Final = EssLayout(
    "fems_home",
    (OPENEMS_COMPONENT, SYMMETRIC_ESS, MANAGED_SYMMETRIC_ESS, HYBRID_ESS, GOODWE_ESS),
)
GENERIC_ESS: Final = EssLayout("generic", (OPENEMS_COMPONENT, SYMMETRIC_ESS, MANAGED_SYMMETRIC_ESS))
# FeneconProEss: AsymmetricEss before ManagedSymmetricEss, so SetActivePowerEquals is 806.
FENECON_PRO: Final = EssLayout(
    "fenecon_pro", (OPENEMS_COMPONENT, SYMMETRIC_ESS, ASYMMETRIC_ESS, MANAGED_SYMMETRIC_ESS)
)
LAYOUTS: Final = {layout.name: layout for layout in (FEMS_HOME, GENERIC_ESS, FENECON_PRO)}


@dataclass(frozen=True, slots=True)
class MetaInfo:
    """What `_meta` reports (Meta.getModbusSlaveTable)."""

    version: Version
    manufacturer: str
    model: str
    options: str
    manufacturer_version: str
    serial_number: str | None
    ems_serial_number: str | None


@dataclass(frozen=True, slots=True)
class Record:
    """One record at an absolute address: a constant, a channel, or reserved (undefined)."""

    address: int
    kind: RecordType
    channel: str | None = None
    constant: tuple[int, ...] | None = None
    access: Access = Access.RO

    @property
    def end(self) -> int:
        return self.address + self.kind.words  # exclusive


class RangeError(Exception):
    """The request maps to exception 0x02 (Illegal Data Address)."""


@dataclass(slots=True)
class ModbusTable:
    """Records by start address, with `MyProcessImage`'s read and write rules."""

    records: dict[int, Record] = field(default_factory=dict)
    _occupied: set[int] = field(default_factory=set)

    def add(self, record: Record) -> None:
        words = set(range(record.address, record.end))
        if words & self._occupied:
            raise ValueError(f"records overlap at {record.address}")
        self._occupied |= words
        self.records[record.address] = record

    def covering(self, address: int, count: int) -> Iterable[Record | int]:
        """Records starting in [address, address + count), or the unmapped word addresses.

        Raises `RangeError` when a record starts inside the range but ends beyond it.
        """
        end = address + count
        cursor = address
        while cursor < end:
            record = self.records.get(cursor)
            if record is None:
                yield cursor  # no record starts here: a gap, or inside a record begun earlier
                cursor += 1
                continue
            if record.end > end:
                raise RangeError(f"Record for Modbus address [{cursor}] does not fit in Result")
            yield record
            cursor = record.end

    def read(self, address: int, count: int, value: Callable[[str], JsonScalar]) -> list[int]:
        """The words of a read; `value(channel)` gives a channel's current value."""
        words: list[int] = []
        for item in self.covering(address, count):
            if isinstance(item, int):
                words.append(UNMAPPED)
            elif item.constant is not None:
                words.extend(item.constant)
            else:
                words.extend(
                    encode(item.kind, None if item.channel is None else value(item.channel))
                )
        return words


def build_table(
    meta: MetaInfo,
    components: Sequence[tuple[str, Sequence[NatureSpec]]],
    *,
    firmware: Version,
    read_write: bool,
) -> ModbusTable:
    """The process image for `components` (in component_ids order)."""
    table = ModbusTable()
    table.add(Record(0, RecordType.UINT16, constant=(OPENEMS_HASH,)))
    table.add(Record(1, RecordType.UINT16, constant=(META_LENGTH,)))
    for offset, number in enumerate(meta.version):
        table.add(Record(2 + offset, RecordType.UINT16, constant=encode(RecordType.UINT16, number)))
    for address, text in (
        (5, meta.manufacturer),
        (21, meta.model),
        (37, meta.options),
        (53, meta.manufacturer_version),
        (69, meta.serial_number),
        (85, meta.ems_serial_number),
    ):
        table.add(Record(address, RecordType.STRING16, constant=encode(RecordType.STRING16, text)))
    table.add(Record(101, RecordType.UINT64, channel="_meta/SystemTimeUtc"))
    start = FIRST_COMPONENT
    for component_id, natures in components:
        length = sum(nature.length for nature in natures)
        table.add(
            Record(start, RecordType.STRING16, constant=encode(RecordType.STRING16, component_id))
        )
        table.add(Record(start + 16, RecordType.UINT16, constant=(length,)))
        nature_start = start + COMPONENT_HEADER
        for nature in natures:
            table.add(Record(nature_start, RecordType.UINT16, constant=(nature.hash,)))
            table.add(Record(nature_start + 1, RecordType.UINT16, constant=(nature.length,)))
            for spec in nature.records:
                if spec.since is not None and firmware < spec.since:
                    continue  # not mapped yet on this release: reads 0xFFFF
                channel = f"{component_id}/{spec.channel}" if spec.channel else None
                access = spec.access
                if access is Access.WO and not read_write:
                    # The read-only API exports WO channels as reserved records (NaN).
                    channel, access = None, Access.RO
                table.add(Record(nature_start + 2 + spec.offset, spec.kind, channel, None, access))
            nature_start += nature.length
        start += length
    return table


def reset_table() -> ModbusTable:
    """`resetModbusTable`: a configured component is missing, only the hash is left."""
    table = ModbusTable()
    table.add(Record(0, RecordType.UINT16, constant=(OPENEMS_HASH,)))
    return table
