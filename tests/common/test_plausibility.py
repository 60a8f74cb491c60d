"""The plausibility gates and tolerant parsing: what can be true, and what never can."""

from __future__ import annotations

import math

import pytest
from homeassistant.components.sensor import SensorDeviceClass, SensorStateClass

from custom_components.energy_flex.api.values import as_enum, as_number, parse_json
from custom_components.energy_flex.descriptions import (
    EnergyFlexSensorDescription,
    energy_counter,
    power_sensor,
    state_of_charge_sensor,
    stored_energy_sensor,
)
from custom_components.energy_flex.plausibility import (
    ABSOLUTE_POWER_LIMIT_W,
    ValueKind,
    implausible,
    plausible,
    power_limit,
    rated_power,
)
from custom_components.energy_flex.sensor import value_kind


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (10**400, None),  # float(10**400) raises OverflowError
        (-(10**400), None),
        ("1" + "0" * 400, None),  # float() of it is inf
        ("42.5", 42.5),
        (7, 7.0),
        (True, None),
        (float("nan"), None),
        ("n/a", None),
        ([1], None),
    ],
)
def test_as_number_never_raises(raw: object, expected: float | None) -> None:
    """Huge integers, text, booleans and NaN are not numbers; none of them raises."""
    assert as_number(raw) == expected


def test_as_enum_of_a_huge_number() -> None:
    """An option value beyond any float is no option."""
    assert as_enum(10**400, {1: "one"}) is None


def test_parse_json_keeps_one_bad_number_from_spoiling_the_answer() -> None:
    """A number too long even for Python's int parser becomes inf, to be refused alone."""
    decoded = parse_json(b'{"a": ' + b"9" * 5000 + b', "b": 1, "c": NaN}')
    assert isinstance(decoded, dict)
    assert decoded["a"] == math.inf
    assert decoded["b"] == 1
    assert math.isnan(decoded["c"])


@pytest.mark.parametrize(
    "body", [b"[" * 100_000, b"", b"<html></html>", b'{"a": "\xff"}', b'{"a": [1, 2']
)
def test_parse_json_refuses_what_is_not_json(body: bytes) -> None:
    """Deep nesting (RecursionError), HTML, bad UTF-8, truncation: all ValueError."""
    with pytest.raises(ValueError):  # noqa: PT011 - the only contract is ValueError
        parse_json(body)


@pytest.mark.parametrize(
    ("kind", "value", "true"),
    [
        (ValueKind.PERCENTAGE, 0, True),
        (ValueKind.PERCENTAGE, 100, True),
        (ValueKind.PERCENTAGE, 100.5, False),
        (ValueKind.PERCENTAGE, -5, False),
        (ValueKind.PERCENTAGE, 65531, False),
        (ValueKind.ENERGY_COUNTER, 0, True),
        (ValueKind.ENERGY_COUNTER, 12_345_678, True),
        (ValueKind.ENERGY_COUNTER, -1, False),
        (ValueKind.ENERGY_COUNTER, 1e300, False),
        (ValueKind.STORED_ENERGY, 10_000, True),
        (ValueKind.STORED_ENERGY, -1, False),
        (ValueKind.VOLTAGE, 230, True),
        (ValueKind.VOLTAGE, 800, True),  # a high-voltage battery
        (ValueKind.VOLTAGE, -230, False),
        (ValueKind.VOLTAGE, 99_999, False),
        (ValueKind.CURRENT, -32, True),
        (ValueKind.CURRENT, 65_535, False),
        (ValueKind.FREQUENCY, 50.02, True),
        (ValueKind.FREQUENCY, 0, True),  # no grid
        (ValueKind.FREQUENCY, 5, False),
        (ValueKind.FREQUENCY, 500, False),
        (ValueKind.POWER, 999_999, True),
        (ValueKind.POWER, -2_147_483_647, False),
        (ValueKind.NUMBER, 1e300, True),
        (ValueKind.NUMBER, math.inf, False),
        (ValueKind.PERCENTAGE, math.nan, False),
    ],
)
def test_gates(kind: ValueKind, value: float, true: bool) -> None:
    """Each kind's bounds, with a reason for every refusal."""
    reason = implausible(kind, value)
    assert (reason is None) is true
    assert plausible(kind, value) == (value if true else None)


def test_powers_follow_the_rated_power() -> None:
    """Battery powers: twice the rating; site powers: ten times, at least 50 kW."""
    assert power_limit(ValueKind.BATTERY_POWER, 4600) == 9200
    assert power_limit(ValueKind.POWER, 4600) == 50_000
    assert power_limit(ValueKind.POWER, 30_000) == 300_000
    assert implausible(ValueKind.BATTERY_POWER, -9200, rated_power_w=4600) is None
    assert implausible(ValueKind.BATTERY_POWER, 9201, rated_power_w=4600) is not None
    # A rating that cannot be true bounds nothing: the absolute bound applies.
    for rating in (None, 0, -5, math.nan, 2_147_483_647):
        assert rated_power(rating) is None
        assert power_limit(ValueKind.BATTERY_POWER, rating) == ABSOLUTE_POWER_LIMIT_W


def test_units_are_converted_to_the_base_unit() -> None:
    """A power in kW or an energy in kWh is bounded like the same value in W or Wh."""
    assert implausible(ValueKind.POWER, 999, unit="kW") is None
    assert implausible(ValueKind.POWER, 1001, unit="kW") is not None
    assert implausible(ValueKind.ENERGY_COUNTER, 1e10, unit="kWh") is not None
    assert implausible(ValueKind.ENERGY_COUNTER, 1e10, unit="Wh") is None


def test_kinds_of_the_common_descriptions() -> None:
    """The builders and device classes decide the gate; nobody has to remember it."""
    assert value_kind(state_of_charge_sensor(lambda _: None)) is ValueKind.PERCENTAGE
    assert value_kind(power_sensor("battery_power", lambda _: None)) is ValueKind.BATTERY_POWER
    assert value_kind(power_sensor("grid_power", lambda _: None)) is ValueKind.POWER
    assert value_kind(energy_counter("produced_energy", lambda _: None)) is (
        ValueKind.ENERGY_COUNTER
    )
    assert value_kind(stored_energy_sensor("stored_energy", lambda _: None)) is (
        ValueKind.STORED_ENERGY
    )


def test_kinds_from_device_class_and_unit() -> None:
    """A net energy total may be negative; a bare % is a percentage; the rest is a number."""

    def kind(**fields: object) -> ValueKind:
        description = EnergyFlexSensorDescription(key="k", value_fn=lambda _: None, **fields)  # type: ignore[arg-type]
        return value_kind(description)

    assert kind(device_class=SensorDeviceClass.ENERGY, state_class=SensorStateClass.TOTAL) is (
        ValueKind.NUMBER
    )
    assert kind(native_unit_of_measurement="%") is ValueKind.PERCENTAGE
    assert kind(device_class=SensorDeviceClass.FREQUENCY) is ValueKind.FREQUENCY
    assert kind(native_unit_of_measurement="s") is ValueKind.NUMBER
    assert kind(kind=ValueKind.CURRENT) is ValueKind.CURRENT
