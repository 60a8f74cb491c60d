"""Scaled numbers, int64s, enums, SKIs and URLs as FlexConnect's ProtoJSON sends them."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from custom_components.energy_flex.api.flexconnect import (
    BatteryControl,
    ControlInstructions,
    ControlMode,
    ControlState,
    StateOfOperation,
    decode_enum,
    decode_int64,
    decode_scaled,
    encode_scaled,
    normalize_ski,
    normalize_url,
)

INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
SCALES = st.integers(min_value=-30, max_value=30)


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ({"number": 1000}, 1000),
        ({"number": 1000, "scale": 0}, 1000),
        ({"number": "15", "scale": -1}, 1.5),
        ({"number": 25, "scale": 2}, 2500),
        ({}, 0),
        ({"scale": 3}, 0),
        ({"number": "-1500"}, -1500),
        ({"number": 3, "scale": "-1"}, 0.3),  # exact: not 3 × 0.1 = 0.30000000000000004
        ({"number": 1e3}, 1000),
        ({"number": "1e3"}, 1000),
        ({"number": 34, "scale": 0, "unknownField": True}, 34),
    ],
)
def test_scaled_examples(raw: object, value: float) -> None:
    """The notes' table, strings, omissions, and one rounding only."""
    assert decode_scaled(raw) == value


@pytest.mark.parametrize(
    "raw",
    [
        None,  # absent message: unknown, not 0
        "1000",
        [1000],
        {"number": None},
        {"number": True},
        {"number": "NaN"},
        {"number": "Infinity"},
        {"number": "12abc"},
        {"number": 1, "scale": 1.5},
        {"number": 1, "scale": 401},
        {"number": 1, "scale": 400},  # 1e400 overflows a float: not a number we show
        {"number": str(2**64)},
        {"number": {"nested": 1}},
    ],
)
def test_scaled_garbage_is_unknown(raw: object) -> None:
    """Whatever is not a finite scaled number decodes to None, never a wrong number."""
    assert decode_scaled(raw) is None


@given(number=INT64, scale=SCALES)
def test_decode_is_exact(number: int, scale: int) -> None:
    """number × 10^scale rounded once to the nearest float, as numbers or strings."""
    exact = Fraction(number) * Fraction(10) ** scale
    expected = float(exact)
    assert decode_scaled({"number": number, "scale": scale}) == expected
    assert decode_scaled({"number": str(number), "scale": str(scale)}) == expected


@given(value=st.floats(allow_nan=False, allow_infinity=False))
def test_encode_round_trips(value: float) -> None:
    """Every finite float encodes to int64 number and int scale that decode to it."""
    encoded = encode_scaled(value)
    assert set(encoded) == {"number", "scale"}
    assert isinstance(encoded["number"], int)
    assert isinstance(encoded["scale"], int)
    assert -(2**63) <= encoded["number"] < 2**63
    assert decode_scaled(encoded) == value


@given(watts=st.integers(min_value=-(10**9), max_value=10**9))
def test_whole_watts_go_out_at_scale_zero(watts: int) -> None:
    """As the vendor's examples send setpoints."""
    assert encode_scaled(float(watts)) == {"number": watts, "scale": 0}


def test_encode_fractions_and_refuses_non_finite() -> None:
    """Fractions take the fewest digits; NaN and infinities are refused."""
    assert encode_scaled(1500.5) == {"number": 15005, "scale": -1}
    assert encode_scaled(-0.25) == {"number": -25, "scale": -2}
    assert encode_scaled(-0.0) == {"number": 0, "scale": 0}
    for bad in (math.nan, math.inf, -math.inf):
        with pytest.raises(ValueError, match="finite"):
            encode_scaled(bad)


@given(number=INT64)
def test_int64_numbers_and_strings(number: int) -> None:
    """int64 timestamps and numbers arrive as JSON numbers or strings."""
    assert decode_int64(number) == number
    assert decode_int64(str(number)) == number


@pytest.mark.parametrize("raw", [None, True, "x", 1.5, "1.5", 2**63, str(-(2**63) - 1), []])
def test_int64_garbage(raw: object) -> None:
    """Fractions, overflows, booleans and text are not int64 values."""
    assert decode_int64(raw) is None


@pytest.mark.parametrize(
    ("raw", "member", "unknown"),
    [
        (1, ControlMode.POWER, None),
        ("2", ControlMode.PCC, None),
        ("AUTO", ControlMode.AUTO, None),
        ("control_mode_power", ControlMode.POWER, None),
        (None, None, None),
        (0, None, None),  # proto3's unspecified
        (7, None, "7"),
        ("-1", None, "-1"),
        ("TURBO", None, "TURBO"),
        (1.5, None, "1.5"),
        ([1], None, "[1]"),
    ],
)
def test_enums(raw: object, member: ControlMode | None, unknown: str | None) -> None:
    """Numbers, numeric strings and names decode; other values are reported, not raised."""
    assert decode_enum(raw, ControlMode) == (member, unknown)


def test_enum_names_do_not_confuse_similar_codes() -> None:
    """AUTO_UNCONTROLLED is not AUTO_CONTROLLED, whatever the prefix."""
    assert decode_enum("CONTROL_STATE_AUTO_UNCONTROLLED", ControlState) == (
        ControlState.AUTO_UNCONTROLLED,
        None,
    )
    assert decode_enum("TEMPORARILY_NOT_READY", StateOfOperation) == (
        StateOfOperation.TEMPORARILY_NOT_READY,
        None,
    )


@given(
    ski=st.text(alphabet="0123456789abcdefABCDEF", min_size=40, max_size=40),
)
def test_ski_normalised_to_upper_case(ski: str) -> None:
    """Any 40 hex characters are an SKI, sent in upper case."""
    assert normalize_ski(f"  {ski}\n") == ski.upper()


@pytest.mark.parametrize(
    "text", ["", "90D2A30F", "G" * 40, "0" * 41, "90D2A30F-A3D2-AD48-525C-D255F469C167ECF8"]
)
def test_bad_skis(text: str) -> None:
    """Short, long or non-hex ids are refused."""
    with pytest.raises(ValueError, match="SKI"):
        normalize_ski(text)


@pytest.mark.parametrize(
    ("text", "url"),
    [
        ("http://localhost:8080", "http://localhost:8080"),
        ("http://localhost:8080/", "http://localhost:8080"),
        (" 192.168.1.5:8080 ", "http://192.168.1.5:8080"),
        ("https://flex.example", "https://flex.example"),
    ],
)
def test_urls(text: str, url: str) -> None:
    """A client URL is scheme, host and port; a bare host:port gets http://."""
    assert normalize_url(text) == url


@pytest.mark.parametrize(
    "text",
    [
        "ftp://host",
        "http://",
        "http://host/app/v1",
        "http://host?x=1",
        "http://u:p@host",
        "http://[x",
    ],
)
def test_bad_urls(text: str) -> None:
    """Other schemes, paths, queries and credentials are refused."""
    with pytest.raises(ValueError, match="URL"):
        normalize_url(text)


def instructions(
    mode: ControlMode | None, setpoint: float | None, timestamp: int | None
) -> ControlInstructions:
    """Instructions for the applied checks."""
    return ControlInstructions(control_mode=mode, setpoint_power=setpoint, timestamp_ms=timestamp)


def omitted(mode: ControlMode, timestamp: int) -> ControlInstructions:
    """Instructions whose answer left `setpointPower` out (ProtoJSON: a zero)."""
    return ControlInstructions(control_mode=mode, timestamp_ms=timestamp, setpoint_omitted=True)


@pytest.mark.parametrize(
    ("current", "desired", "applied"),
    [
        (
            instructions(ControlMode.POWER, 1000, 20),
            instructions(ControlMode.POWER, 1000, 10),
            True,
        ),
        (
            instructions(ControlMode.POWER, 1000, 10),
            instructions(ControlMode.POWER, 1000, 10),
            True,
        ),
        (
            instructions(ControlMode.POWER, 1000, 5),
            instructions(ControlMode.POWER, 1000, 10),
            False,
        ),
        (instructions(ControlMode.AUTO, 0, 20), instructions(ControlMode.POWER, 0, 10), False),
        (instructions(ControlMode.POWER, 0, 20), instructions(ControlMode.POWER, 900, 10), False),
        (
            instructions(ControlMode.POWER, 900, None),
            instructions(ControlMode.POWER, 900, 10),
            True,
        ),
        (None, instructions(ControlMode.POWER, 900, 10), False),
        (instructions(ControlMode.POWER, 900, 1), None, True),
        # ProtoJSON omits a zero setpoint: omitted on either side equals 0, not unknown.
        (omitted(ControlMode.AUTO, 20), instructions(ControlMode.AUTO, 0, 10), True),
        (instructions(ControlMode.AUTO, 0, 20), omitted(ControlMode.AUTO, 10), True),
        (omitted(ControlMode.AUTO, 20), omitted(ControlMode.AUTO, 10), True),
        (omitted(ControlMode.POWER, 20), instructions(ControlMode.POWER, -900, 10), False),
        (instructions(ControlMode.POWER, 900, 20), omitted(ControlMode.POWER, 10), False),
        # Sent but not a number: unknown, never taken for 0.
        (instructions(ControlMode.AUTO, None, 20), instructions(ControlMode.AUTO, 0, 10), False),
    ],
)
def test_applied(
    current: ControlInstructions | None, desired: ControlInstructions | None, applied: bool
) -> None:
    """Current matches desired: mode, setpoint, and not older (notes §6.1)."""
    assert BatteryControl(current=current, desired=desired).applied is applied
