"""The OpenEMS Modbus/TCP process image as a client sees it (fems-openems-api-notes.md §2).

Pure functions, no I/O: decode the big-endian encodings, walk the self-describing block
table (`_meta`, then component blocks made of nature blocks found by hash), and plan the
fewest reads that cover the registers one poll needs without ever ending a read inside a
multi-register value. The client in `fems_modbus.py` feeds these with register words.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Final

from .errors import ApiResponseError

OPENEMS_HASH: Final = 0x6201  # Java "OpenEMS".hashCode() & 0xFFFF, always register 0
UNDEFINED_WORD: Final = 0xFFFF  # unmapped addresses and undefined uint16/enum16
# OpenEMS accepts 126; the Modbus spec (and `modbus_tcp`) stop at 125 per read.
MAX_READ_REGISTERS: Final = 125

# `_meta` (Meta.getModbusSlaveTable): no hash word, records at 2 + offset.
META_READ_COUNT: Final = 105  # registers 0..104: header, versions, six strings, SystemTimeUtc
_COMPONENT_HEADER_WORDS: Final = 20  # string16 id, length, 3 unused words
_STRING_WORDS: Final = 16
# Bounds on a walk over untrusted headers: a real FEMS has a handful of each.
_MAX_COMPONENTS: Final = 64
_MAX_NATURES: Final = 32
_LAST_ADDRESS: Final = 0xFFFF


def openems_hash16(text: str) -> int:
    """`ModbusSlaveNatureTable.generateHash`: Java `String.hashCode()`, low 16 bits."""
    value = 0
    for char in text:
        value = (31 * value + ord(char)) & 0xFFFFFFFF
    return value & 0xFFFF


HASH_OPENEMS_COMPONENT: Final = openems_hash16("OpenemsComponent")  # 0xB3DC
HASH_SUM: Final = openems_hash16("Sum")  # 0x462B
HASH_MANAGED_SYMMETRIC_ESS: Final = openems_hash16("ManagedSymmetricEss")  # 0xA3ED

SUM_ID: Final = "_sum"
PREFERRED_ESS_ID: Final = "ess0"  # the ESS the REST transport controls, too


class ModbusType(Enum):
    """OpenEMS `ModbusType`s this client reads, with their size in registers."""

    UINT16 = ("uint16", 1)
    ENUM16 = ("enum16", 1)
    FLOAT32 = ("float32", 2)
    FLOAT64 = ("float64", 4)
    UINT64 = ("uint64", 4)
    STRING16 = ("string16", 16)

    @property
    def words(self) -> int:
        """Registers one value occupies."""
        return self.value[1]


def decode_string(words: list[int]) -> str | None:
    """US-ASCII, two characters per register, NUL-padded; anything else is undefined."""
    return _string(_pack(words))


def _pack(words: list[int]) -> bytes:
    return struct.pack(f">{len(words)}H", *words)


_FLOAT32: Final = struct.Struct(">f")
_FLOAT64: Final = struct.Struct(">d")
_UINT16: Final = struct.Struct(">H")
_UINT64: Final = struct.Struct(">Q")


def _decode_at(kind: ModbusType, raw: bytes, at: int) -> float | str | None:
    """Decode the big-endian value of `kind` (high word first) that starts `at` bytes in.

    Undefined encodings become `None`: 0xFFFF for uint16/enum16, NaN for floats (also
    0xFFFF… of an unmapped range, which is a NaN), all ones for uint64, an all-NUL string16.
    """
    if kind is ModbusType.FLOAT32 or kind is ModbusType.FLOAT64:
        (value,) = (_FLOAT32 if kind is ModbusType.FLOAT32 else _FLOAT64).unpack_from(raw, at)
        return value if math.isfinite(value) else None
    if kind is ModbusType.UINT16 or kind is ModbusType.ENUM16:
        (word,) = _UINT16.unpack_from(raw, at)
        return None if word == UNDEFINED_WORD else float(word)
    if kind is ModbusType.UINT64:
        (number,) = _UINT64.unpack_from(raw, at)
        return None if number == 0xFFFF_FFFF_FFFF_FFFF else float(number)
    return _string(raw[at : at + 2 * _STRING_WORDS])


def _string(raw: bytes) -> str | None:
    raw = raw.rstrip(b"\x00")
    if not raw or any(byte < 0x20 or byte > 0x7E for byte in raw):
        return None  # all NUL (undefined) or 0xFF of unmapped registers
    return raw.decode("ascii").strip() or None


# --- the table ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NatureBlock:
    """One nature of a component: `start` holds its hash, records begin at `start + 2`."""

    hash: int
    start: int
    length: int

    @property
    def records_start(self) -> int:
        """Address of record offset 0 (the 2 header words count towards `length`)."""
        return self.start + 2

    def holds(self, offset: int, kind: ModbusType) -> bool:
        """Whether a record at `offset` lies inside this nature's block."""
        return offset >= 0 and 2 + offset + kind.words <= self.length


@dataclass(frozen=True, slots=True)
class ComponentBlock:
    """One configured component: its id, where it starts and its natures in order."""

    id: str
    start: int
    length: int
    natures: tuple[NatureBlock, ...]

    def nature(self, hash_value: int) -> NatureBlock | None:
        """The component's nature with this hash, if it implements it."""
        return next((nature for nature in self.natures if nature.hash == hash_value), None)


@dataclass(frozen=True, slots=True)
class FemsModbusMeta:
    """What `_meta` says about the device (registers 2–100)."""

    version: str | None
    manufacturer: str | None
    model: str | None
    serial_number: str | None
    ems_serial_number: str | None


@dataclass(frozen=True, slots=True)
class TableLayout:
    """The walked table: `_meta` and every component block."""

    meta: FemsModbusMeta
    components: tuple[ComponentBlock, ...]

    def component(self, component_id: str) -> ComponentBlock | None:
        """A component by id (ids are case-sensitive)."""
        return next((block for block in self.components if block.id == component_id), None)

    def managed_ess(self) -> ComponentBlock | None:
        """The ESS to control: `ess0` if it is managed, else the first managed one."""
        managed = [block for block in self.components if block.nature(HASH_MANAGED_SYMMETRIC_ESS)]
        preferred = [block for block in managed if block.id == PREFERRED_ESS_ID]
        candidates = preferred or managed
        return candidates[0] if candidates else None


type ReadRegisters = Callable[[int, int], Awaitable[list[int]]]


def parse_meta(words: list[int]) -> tuple[FemsModbusMeta, int]:
    """Check the OpenEMS header in registers 0..104; return `_meta` and the first component."""
    if len(words) != META_READ_COUNT or words[0] != OPENEMS_HASH:
        raise ApiResponseError("not an OpenEMS Modbus/TCP API")
    meta_length = words[1]
    if meta_length == UNDEFINED_WORD:
        # `resetModbusTable`: a configured component is missing; only register 0 is left.
        raise ApiResponseError("Modbus table reset: a configured component is missing")
    if meta_length < META_READ_COUNT - 1:
        raise ApiResponseError("unsupported _meta block")
    major, minor, patch = words[2:5]
    version = None if UNDEFINED_WORD in (major, minor, patch) else f"{major}.{minor}.{patch}"

    def text(start: int) -> str | None:
        return decode_string(words[start : start + _STRING_WORDS])

    meta = FemsModbusMeta(
        version=version,
        manufacturer=text(5),
        model=text(21),
        serial_number=text(69),
        ems_serial_number=text(85),
    )
    return meta, 1 + meta_length  # Table 7: "200 (= 1 + 199)"


async def walk_components(read: ReadRegisters, first: int) -> tuple[ComponentBlock, ...]:
    """Follow the component and nature headers from `first` until unmapped registers.

    Each component costs one read for its header and first nature header, and one more per
    further nature (its hash and length); the walk ends at a header of 0xFFFF words.
    """
    components: list[ComponentBlock] = []
    start = first
    while start + _COMPONENT_HEADER_WORDS + 1 <= _LAST_ADDRESS:
        if len(components) == _MAX_COMPONENTS:
            raise ApiResponseError("too many components in the Modbus table")
        header = await read(start, _COMPONENT_HEADER_WORDS + 2)
        if all(word == UNDEFINED_WORD for word in header[:_STRING_WORDS]):
            break  # past the last component: no record, every word reads 0xFFFF
        component_id = decode_string(header[:_STRING_WORDS])
        length = header[_STRING_WORDS]
        if component_id is None or not 2 <= length < UNDEFINED_WORD:
            raise ApiResponseError(f"malformed component header at {start}")
        natures = await _walk_natures(read, start, length, header[-2:])
        components.append(ComponentBlock(component_id, start, length, natures))
        start += length  # natures begin at start + 20; the next component at start + L
    return tuple(components)


async def _walk_natures(
    read: ReadRegisters, start: int, length: int, first_header: list[int]
) -> tuple[NatureBlock, ...]:
    natures: list[NatureBlock] = []
    address = start + _COMPONENT_HEADER_WORDS
    remaining = length
    header = first_header
    while True:
        hash_value, nature_length = header
        if not 2 <= nature_length <= remaining or len(natures) == _MAX_NATURES:
            raise ApiResponseError(f"malformed nature header at {address}")
        natures.append(NatureBlock(hash_value, address, nature_length))
        address += nature_length
        remaining -= nature_length
        if remaining == 0:
            return tuple(natures)
        if address + 1 > _LAST_ADDRESS:
            raise ApiResponseError(f"malformed nature header at {address}")
        header = await read(address, 2)


# --- what one poll reads --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RegisterValue:
    """One value a poll needs: a name, where it starts and how it is encoded."""

    name: str
    address: int
    kind: ModbusType

    @property
    def end(self) -> int:
        """The last register of the value."""
        return self.address + self.kind.words - 1


@dataclass(frozen=True, slots=True)
class ReadRange:
    """One read request and the values it delivers."""

    start: int
    count: int
    values: tuple[RegisterValue, ...]


def plan_reads(
    values: Iterable[RegisterValue], max_registers: int = MAX_READ_REGISTERS
) -> tuple[ReadRange, ...]:
    """The fewest reads of at most `max_registers` that cover `values`, fewest registers.

    Of all plans with the fewest reads, the one that carries the fewest registers. A read
    starts at a value's first register and ends at a value's last one, so it
    never ends inside a record (exception 0x02); records in the gaps between the values
    lie wholly inside the read. Reads cover runs of neighbouring values, so the best
    split of the sorted values into runs is found by dynamic programming: fewest reads
    first, then the fewest registers, i.e. gaps are skipped wherever that adds no read.
    """
    ordered = sorted(values, key=lambda value: value.address)
    for value in ordered:
        if value.kind.words > max_registers:
            raise ValueError(f"{value.name} does not fit in one read")
    # best[i]: (reads, registers, where the last read starts) covering ordered[:i]
    best: list[tuple[int, int, int]] = [(0, 0, 0)]
    for end in range(1, len(ordered) + 1):
        last = ordered[end - 1].end
        choice = (len(ordered) + 1, 0, 0)
        for start in range(end - 1, -1, -1):
            last = max(last, ordered[start].end)
            span = last - ordered[start].address + 1
            if span > max_registers:
                break
            reads, registers, _ = best[start]
            choice = min(choice, (reads + 1, registers + span, start))
        best.append(choice)
    ranges: list[ReadRange] = []
    end = len(ordered)
    while end:
        start = best[end][2]
        ranges.append(_range(ordered[start:end]))
        end = start
    return tuple(reversed(ranges))


def _range(group: list[RegisterValue]) -> ReadRange:
    start = group[0].address
    end = max(value.end for value in group)
    return ReadRange(start, end - start + 1, tuple(group))


def decode_range(read_range: ReadRange, words: list[int]) -> Mapping[str, float | str | None]:
    """Decode every value of one read's answer."""
    if len(words) != read_range.count:
        raise ApiResponseError("answer has the wrong number of registers")
    # Packed once per read; each value is unpacked where it starts (`plan_reads` never
    # ends a read inside a value).
    raw = _pack(words)
    start = read_range.start
    return {
        value.name: _decode_at(value.kind, raw, 2 * (value.address - start))
        for value in read_range.values
    }
