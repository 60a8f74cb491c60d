"""The catalogue of bad answers every connection is put through.

Answer faults break the whole answer (or the connection); value faults put one raw value
into an otherwise healthy answer. Each says what the integration must show for it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

from simulators.faults import CannedAnswer

from .adapters import MISSING, ConnectionAdapter, Field, Transport


class Expect(Enum):
    """What the entities show while a fault lasts."""

    # The device is out: every entity unavailable, one log line, commands refused.
    OUTAGE = "outage"
    # The device answers without values: every entity unknown or unavailable.
    NO_VALUES = "no_values"
    # Nothing wrong with the data (slow, an odd content type): every value stays true.
    TRUE_VALUES = "true_values"


@dataclass(frozen=True, slots=True)
class AnswerFault:
    """A fault of the whole answer or of the connection."""

    id: str
    transport: Transport
    expect: Expect
    inject: Callable[[ConnectionAdapter], None]


def _http(id_: str, expect: Expect, inject: Callable[[ConnectionAdapter], None]) -> AnswerFault:
    return AnswerFault(id_, "http", expect, inject)


def _modbus(id_: str, expect: Expect, inject: Callable[[ConnectionAdapter], None]) -> AnswerFault:
    return AnswerFault(id_, "modbus", expect, inject)


def _answer(
    body: bytes, content_type: str = "application/json"
) -> Callable[[ConnectionAdapter], None]:
    def inject(adapter: ConnectionAdapter) -> None:
        adapter.http_faults.answer = CannedAnswer(body, 200, content_type)

    return inject


def _set(**faults: Any) -> Callable[[ConnectionAdapter], None]:
    def inject(adapter: ConnectionAdapter) -> None:
        target = adapter.http_faults if adapter.transport == "http" else adapter.modbus_faults
        for name, value in faults.items():
            setattr(target, name, value)

    return inject


_HTML_PAGE = (
    b"<!DOCTYPE html><html><head><title>FEMS</title></head>"
    b"<body><div id='app'>Loading...</div></body></html>"
)
TWENTY_MB = 20 * 1024 * 1024

ANSWER_FAULTS: tuple[AnswerFault, ...] = (
    _http("malformed_json", Expect.OUTAGE, _answer(b'{"value": [1, 2')),
    _http("html_with_status_200", Expect.OUTAGE, _answer(_HTML_PAGE, "text/html")),
    _http("empty_body", Expect.OUTAGE, _answer(b"")),
    _http("wrong_shape_list", Expect.OUTAGE, _answer(b"[1, 2, 3]")),
    _http("wrong_shape_object", Expect.OUTAGE, _answer(b'{"unexpected": {"deeply": [true]}}')),
    _http("wrong_shape_scalar", Expect.OUTAGE, _answer(b'"ok"')),
    _http("nested_too_deep", Expect.OUTAGE, _answer(b"[" * 100_000)),
    _http("not_utf8", Expect.OUTAGE, _answer(b'{"value": "\xff\xfe"}')),
    _http("truncated_body", Expect.OUTAGE, _set(cut_body="close")),
    _http("reset_mid_body", Expect.OUTAGE, _set(cut_body="reset")),
    _http("body_of_20_mb", Expect.OUTAGE, _set(huge_body_bytes=TWENTY_MB)),
    _http("http_503", Expect.OUTAGE, _set(error_status=503)),
    _http("connection_dropped", Expect.OUTAGE, _set(drop_connection=True)),
    _http("never_answering", Expect.OUTAGE, _set(hang=True)),
    _http("wrong_content_type", Expect.TRUE_VALUES, _set(content_type="text/html; charset=utf-8")),
    _http("slow", Expect.TRUE_VALUES, _set(latency_s=0.05)),
    _http("nulls_everywhere", Expect.NO_VALUES, lambda adapter: adapter.all_values_null()),
    _http("every_key_missing", Expect.NO_VALUES, lambda adapter: adapter.all_values_missing()),
    _modbus("exception_device_failure", Expect.OUTAGE, _set(read_exception=4)),
    _modbus("exception_device_busy", Expect.OUTAGE, _set(read_exception=6)),
    _modbus("wrong_length", Expect.OUTAGE, _set(short_reads=True)),
    _modbus("connection_dropped", Expect.OUTAGE, _set(drop_requests=1_000)),
    _modbus("never_answering", Expect.OUTAGE, _set(silent=True)),
    _modbus("slow", Expect.TRUE_VALUES, _set(latency_s=0.05)),
    _modbus("every_value_undefined", Expect.NO_VALUES, lambda adapter: adapter.all_values_null()),
)


@dataclass(frozen=True, slots=True)
class ValueFault:
    """One raw value in an otherwise healthy answer: its entities alone become unknown."""

    id: str
    field: Field
    transport: Transport
    raw: Any


def _json(id_: str, field: Field, raw: Any) -> ValueFault:
    return ValueFault(id_, field, "http", raw)


def _register(id_: str, field: Field, raw: Any) -> ValueFault:
    return ValueFault(id_, field, "modbus", raw)


VALUE_FAULTS: tuple[ValueFault, ...] = (
    # State of charge: outside 0-100 %, an undefined uint16 variant, not a number at all.
    _json("soc_150", "soc", 150),
    _json("soc_negative", "soc", -5),
    _json("soc_65531", "soc", 65531),
    _json("soc_nan", "soc", float("nan")),
    _json("soc_infinity", "soc", float("inf")),
    _json("soc_minus_infinity", "soc", float("-inf")),
    _json("soc_400_digits", "soc", 10**400),
    _json("soc_text", "soc", "n/a"),
    _json("soc_boolean", "soc", True),
    _json("soc_null", "soc", None),
    _json("soc_missing", "soc", MISSING),
    _json("battery_power_int32_max", "battery_power", 2_147_483_647),
    _json("battery_power_400_digits", "battery_power", -(10**400)),
    _json("battery_power_nan", "battery_power", float("nan")),
    _json("counter_negative", "counter", -5),
    _json("counter_1e300", "counter", 1e300),
    _json("stored_energy_negative", "stored_energy", -1000),
    _json("stored_energy_1e300", "stored_energy", 1e300),
    _json("voltage_99999", "voltage", 99_999),
    _json("voltage_negative", "voltage", -230),
    _json("frequency_500", "frequency", 500),
    # An EV charger's power and current: no charger draws a gigawatt or feeds back.
    _json("charging_power_1e300", "charging_power", 1e300),
    _json("charging_power_400_digits", "charging_power", 10**400),
    _json("charging_power_nan", "charging_power", float("nan")),
    _json("charging_power_infinity", "charging_power", float("inf")),
    _json("charging_power_negative", "charging_power", -7000),
    _json("charging_power_text", "charging_power", "n/a"),
    _json("charging_power_boolean", "charging_power", True),
    _json("charging_power_null", "charging_power", None),
    _json("current_99999", "current", 99_999),
    _json("current_negative", "current", -32),
    _json("current_nan", "current", float("nan")),
    _json("current_text", "current", "n/a"),
    # Modbus registers: undefined encodings and values no device can have.
    _register("soc_undefined_0xffff", "soc", None),
    _register("soc_65531", "soc", 65531),
    _register("soc_150", "soc", 150),
    _register("battery_power_nan", "battery_power", float("nan")),
    _register("battery_power_infinity", "battery_power", float("inf")),
    _register("battery_power_3e38", "battery_power", 3.0e38),
    _register("counter_negative", "counter", -5.0),
    _register("counter_1e300", "counter", 1e300),
    _register("counter_infinity", "counter", float("inf")),
    _register("stored_energy_negative", "stored_energy", -1000.0),
)
