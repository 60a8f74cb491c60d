"""The client's decoding, table walk and read planning, without a network."""

from __future__ import annotations

import random
import struct

import pytest

from custom_components.energy_flex.api.errors import ApiResponseError
from custom_components.energy_flex.api.fems_modbus import build_table
from custom_components.energy_flex.api.fems_modbus_table import (
    ComponentBlock,
    FemsModbusMeta,
    ModbusType,
    NatureBlock,
    RegisterValue,
    TableLayout,
    decode_range,
    decode_string,
    openems_hash16,
    parse_meta,
    plan_reads,
    walk_components,
)

META = FemsModbusMeta(None, None, None, None, None)


def test_hash() -> None:
    """Java's String.hashCode, low 16 bits."""
    assert openems_hash16("OpenEMS") == 0x6201
    assert openems_hash16("ManagedSymmetricEss") == 0xA3ED


@pytest.mark.parametrize(
    ("kind", "words", "expected"),
    [
        (ModbusType.UINT16, [87], 87),
        (ModbusType.UINT16, [0xFFFF], None),
        (ModbusType.ENUM16, [1], 1),
        (ModbusType.ENUM16, [0xFFFF], None),
        (ModbusType.FLOAT32, [0x449A, 0x5000], 1234.5),
        (ModbusType.FLOAT32, [0xC51C, 0x4000], -2500),
        (ModbusType.FLOAT32, [0x7FC0, 0x0000], None),  # NaN
        (ModbusType.FLOAT32, [0xFFFF, 0xFFFF], None),  # unmapped words: a NaN too
        (ModbusType.FLOAT32, [0x7F80, 0x0000], None),  # infinity is no reading either
        (ModbusType.FLOAT64, [0x40FE, 0x2400, 0, 0], 123456.0),
        (ModbusType.FLOAT64, [0x7FF8, 0, 0, 0], None),
        (ModbusType.FLOAT64, [0xFFFF] * 4, None),
        (ModbusType.UINT64, [0, 0, 0x6749, 0x1234], 0x67491234),
        (ModbusType.UINT64, [0xFFFF] * 4, None),
        (ModbusType.STRING16, [0x5F73, 0x756D] + [0] * 14, "_sum"),
        (ModbusType.STRING16, [0] * 16, None),
        (ModbusType.STRING16, [0xFFFF] * 16, None),
        (ModbusType.STRING16, [0x0102] + [0] * 15, None),
    ],
)
def test_decode(kind: ModbusType, words: list[int], expected: float | str | None) -> None:
    """Big-endian values; every undefined encoding becomes None, never 0."""
    (read,) = plan_reads([RegisterValue("x", 10, kind)])
    assert decode_range(read, words) == {"x": expected}


def test_decode_wrong_size() -> None:
    """A read's answer needs exactly its number of words: one more is refused too."""
    (read,) = plan_reads([RegisterValue("x", 10, ModbusType.FLOAT32)])
    with pytest.raises(ApiResponseError):
        decode_range(read, [0x449A, 0x5000, 0])


def test_decode_string_strips_padding() -> None:
    """Blanks and NUL padding go."""
    raw = b" FEMS ".ljust(32, b"\x00")
    assert decode_string(list(struct.unpack(">16H", raw))) == "FEMS"
    assert decode_string(list(struct.unpack(">16H", b"  ".ljust(32, b"\x00")))) is None


def meta_words(**changes: int) -> list[int]:
    words = [0xFFFF] * 105
    words[0:5] = [0x6201, 199, 2026, 5, 0]
    for index, value in changes.items():
        words[int(index[1:])] = value
    return words


def test_parse_meta() -> None:
    """Version from 2–4; the first component right after `_meta`."""
    meta, first = parse_meta(meta_words())
    assert meta.version == "2026.5.0"
    assert meta.manufacturer is None
    assert first == 200
    meta, _ = parse_meta(meta_words(r3=0xFFFF))
    assert meta.version is None


@pytest.mark.parametrize(
    ("words", "message"),
    [
        (meta_words(r0=0x1234), "not an OpenEMS"),
        (meta_words()[:100], "not an OpenEMS"),
        (meta_words(r1=0xFFFF), "component is missing"),
        (meta_words(r1=50), "unsupported"),
    ],
)
def test_parse_meta_refuses(words: list[int], message: str) -> None:
    """Not OpenEMS, a reset table or a foreign `_meta` are clear errors."""
    with pytest.raises(ApiResponseError, match=message):
        parse_meta(words)


def _fake(memory: dict[int, int]):  # type: ignore[no-untyped-def]
    reads: list[tuple[int, int]] = []

    async def read(address: int, count: int) -> list[int]:
        reads.append((address, count))
        return [memory.get(address + i, 0xFFFF) for i in range(count)]

    return read, reads


def _component(
    memory: dict[int, int], start: int, name: str, natures: list[tuple[int, int]]
) -> None:
    raw = name.encode().ljust(32, b"\x00")
    for index, word in enumerate(struct.unpack(">16H", raw)):
        memory[start + index] = word
    memory[start + 16] = sum(length for _, length in natures)
    address = start + 20
    for hash_value, length in natures:
        memory[address], memory[address + 1] = hash_value, length
        address += length


async def test_walk_reads_one_header_per_nature() -> None:
    """One read per component header (with its first nature), one per further nature."""
    memory: dict[int, int] = {}
    _component(memory, 200, "_sum", [(0xB3DC, 80), (0x462B, 220)])
    _component(memory, 500, "ess0", [(0xB3DC, 80), (0x42EE, 100), (0xA3ED, 100)])
    read, reads = _fake(memory)
    components = await walk_components(read, 200)
    assert [block.id for block in components] == ["_sum", "ess0"]
    assert components[1].nature(0xA3ED) == NatureBlock(0xA3ED, 700, 100)
    assert components[1].nature(0x1234) is None
    assert reads == [(200, 22), (300, 2), (500, 22), (600, 2), (700, 2), (780, 22)]


@pytest.mark.parametrize(
    ("natures", "length", "message"),
    [
        ([(0xB3DC, 80)], 0, "component header"),  # block length 0
        ([(0xB3DC, 1)], 1, "component header"),
        ([(0xB3DC, 1), (0x462B, 220)], None, "nature header"),  # nature shorter than its header
        ([(0xB3DC, 80), (0x462B, 300)], 300, "nature header"),  # natures longer than the block
    ],
)
async def test_walk_refuses_malformed_headers(
    natures: list[tuple[int, int]], length: int | None, message: str
) -> None:
    """Untrusted headers that cannot be right end the walk with an error."""
    memory: dict[int, int] = {}
    _component(memory, 200, "_sum", natures)
    if length is not None:
        memory[216] = length
    read, _ = _fake(memory)
    with pytest.raises(ApiResponseError, match=message):
        await walk_components(read, 200)


async def test_walk_refuses_a_garbage_id() -> None:
    """A component id that is not ASCII is no header."""
    memory: dict[int, int] = {200 + i: 0x0101 for i in range(16)}
    memory[216] = 80
    read, _ = _fake(memory)
    with pytest.raises(ApiResponseError, match="component header"):
        await walk_components(read, 200)


async def test_walk_is_bounded() -> None:
    """A table that never ends (every block claims a tiny length) is refused."""

    async def endless(address: int, count: int) -> list[int]:
        words = [0x4141] * 16 + [2, 0, 0, 0, 0x1111, 2]
        return (words * 2)[:count]

    with pytest.raises(ApiResponseError, match="too many components"):
        await walk_components(endless, 200)


async def test_walk_stops_at_the_address_space() -> None:
    """A walk near 65535 stops instead of reading past the last address."""
    read, reads = _fake({})
    assert await walk_components(read, 0xFFF0) == ()
    assert reads == []
    memory: dict[int, int] = {}
    _component(memory, 0xFF00, "x", [(1, 0xF0), (2, 0x30)])
    read, _ = _fake(memory)
    with pytest.raises(ApiResponseError, match="nature header"):
        await walk_components(read, 0xFF00)


def test_plan_is_minimal_and_never_splits_a_value() -> None:
    """Greedy windows from the left: each ends on a value's last register."""
    values = [
        RegisterValue("a", 0, ModbusType.FLOAT64),  # 0..3
        RegisterValue("b", 4, ModbusType.FLOAT32),  # 4..5
        RegisterValue("c", 6, ModbusType.UINT16),
    ]
    plan = plan_reads(values, max_registers=5)
    assert [(read.start, read.count) for read in plan] == [(0, 4), (4, 3)]
    assert [(read.start, read.count) for read in plan_reads(values, 7)] == [(0, 7)]
    with pytest.raises(ValueError, match="does not fit"):
        plan_reads([RegisterValue("s", 0, ModbusType.STRING16)], max_registers=8)
    assert plan_reads([]) == ()


def test_plan_property_on_random_tables() -> None:
    """Any value set: every value in exactly one read, wholly, and reads stay in bounds."""
    rng = random.Random(7)  # noqa: S311 (a fixed seed: reproducible cases)
    kinds = [ModbusType.UINT16, ModbusType.FLOAT32, ModbusType.FLOAT64]
    for _ in range(200):
        values, address = [], rng.randrange(100)
        for index in range(rng.randrange(1, 30)):
            kind = rng.choice(kinds)
            values.append(RegisterValue(str(index), address, kind))
            address += kind.words + rng.choice([0, 0, 1, 7, 60])
        limit = rng.choice([4, 8, 20, 125])
        plan = plan_reads(values, limit)
        for value in values:
            holders = [r for r in plan if r.start <= value.address <= r.start + r.count - 1]
            assert len(holders) == 1
            assert value.end <= holders[0].start + holders[0].count - 1
        for read in plan:
            assert read.count <= limit
            assert read.start + read.count - 1 == max(v.end for v in read.values)


def test_decode_range_checks_the_answer_size() -> None:
    """A short answer is refused rather than mis-decoded."""
    (read,) = plan_reads([RegisterValue("x", 10, ModbusType.FLOAT32)])
    with pytest.raises(ApiResponseError):
        decode_range(read, [1])


def _layout(*components: ComponentBlock) -> TableLayout:
    return TableLayout(META, components)


def _block(name: str, start: int, natures: list[tuple[int, int]]) -> ComponentBlock:
    blocks, address = [], start + 20
    for hash_value, length in natures:
        blocks.append(NatureBlock(hash_value, address, length))
        address += length
    return ComponentBlock(name, start, sum(n[1] for n in natures), tuple(blocks))


SUM = _block("_sum", 200, [(0xB3DC, 80), (0x462B, 220)])


def test_build_table_needs_sum() -> None:
    """Without `_sum` there is nothing to show."""
    with pytest.raises(ApiResponseError, match="_sum"):
        build_table(_layout())
    with pytest.raises(ApiResponseError, match="_sum"):
        build_table(_layout(_block("_sum", 200, [(0xB3DC, 80)])))


def test_build_table_prefers_ess0() -> None:
    """ess0 is controlled when it is managed, else the first managed ESS."""
    natures = [(0xB3DC, 80), (0x42EE, 100), (0xA3ED, 100)]
    ess1 = _block("ess1", 500, natures)
    ess0 = _block("ess0", 780, natures)
    table = build_table(_layout(SUM, ess1, ess0))
    assert table.ess == ess0
    assert table.setpoint_address("SetActivePowerEquals") == 986
    assert table.setpoint_address("SetActivePowerGreaterOrEquals") == 994
    assert build_table(_layout(SUM, ess1)).ess == ess1
    unmanaged = build_table(_layout(SUM, _block("ess0", 500, natures[:2])))
    assert unmanaged.ess is None
    assert unmanaged.setpoint_address("SetActivePowerEquals") is None


def test_records_beyond_a_short_nature_are_not_read() -> None:
    """Firmware whose Sum nature is shorter simply has no such values (unknown)."""
    short = _block("_sum", 200, [(0xB3DC, 80), (0x462B, 100)])
    table = build_table(_layout(short))
    names = {value.name for read in table.reads for value in read.values}
    assert "soc" in names
    assert "capacity" not in names  # offset 118 lies beyond a 100-word nature
    assert all(read.start + read.count <= 400 for read in table.reads)
