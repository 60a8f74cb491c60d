"""FENECON FEMS / OpenEMS Modbus/TCP API simulator (fems-openems-api-notes.md §2).

A pymodbus TCP server over the same `BatteryModel` and channel values as the REST
simulator. The process image is built like the firmware's (`fems_modbus_table`), for a
FEMS Home, a generic managed ESS or a FENECON Pro layout, on the read-only or the
read-write API. Writes that commit go to an `ApiWorker` with the shared `apiTimeout`.
Time comes from the injected clock: move a fake clock and call `tick()` (or let the
background ticker do it) to see new cycles, idle connections closed and timeouts fire.
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable, Sequence
from typing import Final

from pymodbus.constants import ExcCodes

from ..battery import BatteryModel
from ..cli import RunningSimulator, SimulatorCli
from ..faults import RejectedWrite, WriteLog, WriteRecord
from ..fems.api_worker import ApiWorker, ApiWorkerView
from ..fems.channels import DeviceStatus, ProcessImage
from ..fems.firmware import parse_version
from ..jsontypes import JsonScalar
from ..lifecycle import SimulatorLifecycle
from .server import ModbusFaults, ModbusStats, OpenEmsModbusServer
from .table import (
    FEMS_HOME,
    LAYOUTS,
    MAX_READ,
    SUM_NATURES,
    Access,
    EssLayout,
    MetaInfo,
    ModbusTable,
    RangeError,
    Record,
    RecordType,
    build_table,
    decode_float32,
    reset_table,
)

UNIT_ID: Final = 1
SUM: Final = "_sum"
_SETPOINTS: Final = (
    "SetActivePowerEquals",
    "SetActivePowerLessOrEquals",
    "SetActivePowerGreaterOrEquals",
)


class FemsModbusSimulator(ApiWorkerView, SimulatorLifecycle):
    """The FEMS Modbus/TCP API (read-write app by default) over a `BatteryModel`."""

    def __init__(
        self,
        *,
        battery: BatteryModel | None = None,
        layout: EssLayout = FEMS_HOME,
        read_write: bool = True,
        components: Sequence[str] | None = None,
        firmware: str = "2026.5.0",
        manufacturer: str = "FENECON GmbH",
        model: str = "FEMS Home 10",
        serial_number: str | None = "FH10-2401-0815",
        ems_serial_number: str | None = "EMS0042123",
        api_timeout_s: float = 60.0,
        idle_timeout_s: float = 60.0,
        max_connections: int = 5,
        clock: Callable[[], float] = time.monotonic,
        cycle_s: float = 1.0,
        tick_s: float = 1.0,
    ) -> None:
        self.battery = battery if battery is not None else BatteryModel(clock=clock)
        self.layout = layout
        self.read_write = read_write
        # The RO app exports `_sum`; the RW app default adds every enabled ESS.
        self.components = tuple(components or ((SUM, "ess0") if read_write else (SUM,)))
        self.firmware = firmware
        self.meta = MetaInfo(
            version=parse_version(firmware),
            manufacturer=manufacturer,
            model=model,
            options="",
            manufacturer_version="",
            serial_number=serial_number,
            ems_serial_number=ems_serial_number,
        )
        self.idle_timeout_s = idle_timeout_s
        self.cycle_s = cycle_s
        self.tick_s = tick_s
        self.writes = WriteLog()
        self.stats = ModbusStats()
        self.faults = ModbusFaults()
        # Test knobs that apply at once: channels forced undefined, forced raw values.
        self.undefined: set[str] = set()
        self.all_undefined = False  # every channel value undefined at once
        self.overrides: dict[str, JsonScalar] = {}
        self.state = 0
        self.host = "127.0.0.1"
        self.port = 0
        self._clock = clock
        self._max_connections = max_connections
        self._worker = ApiWorker(timeout_s=api_timeout_s, clock=clock)
        self._image_builder = ProcessImage()
        self._values: dict[str, JsonScalar] | None = None
        self._values_at = 0.0
        self._component_missing = False
        self._table = self._build_table()
        # The battery follows the first ESS's write channels.
        self._controlled = next((c for c in self.components if c != SUM), None)
        self._server: OpenEmsModbusServer | None = None

    # --- public state -----------------------------------------------------------------

    def clock(self) -> float:
        return self._clock()

    @property
    def table(self) -> ModbusTable:
        return self._table

    @property
    def component_missing(self) -> bool:
        """A configured component id does not exist: the table is reset to register 0."""
        return self._component_missing

    @component_missing.setter
    def component_missing(self, value: bool) -> None:
        self._component_missing = value
        self._table = self._build_table()

    @property
    def connections(self) -> tuple[int, int]:
        """(served, waiting) connections."""
        if self._server is None:
            return 0, 0
        return len(self._server.gate.active), len(self._server.gate.waiting)

    @property
    def connections_accepted(self) -> int:
        return 0 if self._server is None else self._server.gate.accepted

    @property
    def peak_connections(self) -> int:
        """Most connections served at the same time since start."""
        return 0 if self._server is None else self._server.gate.peak

    def address_of(self, component: str, nature: str, offset: int) -> int:
        """Absolute address of a record, for tests (`nature` by name)."""
        start = 200
        for component_id in self.components:
            natures = SUM_NATURES if component_id == SUM else self.layout.natures
            nature_start = start + 20
            for spec in natures:
                if component_id == component and spec.name == nature:
                    return nature_start + 2 + offset
                nature_start += spec.length
            start += sum(spec.length for spec in natures)
        raise KeyError(f"{component}/{nature}")

    def tick(self) -> None:
        """What the controller does over time: the apiTimeout, a due cycle, idle closes."""
        if self._worker.expire_if_due():
            self._apply_writes()
        now = self._clock()
        if self._values is None or now - self._values_at >= self.cycle_s:
            self._apply_writes()  # re-asserted every cycle
            self.battery.step()
            self._values = self._channel_values()
            self._values_at = now
        if self._server is not None:
            self._server.close_idle()

    # --- lifecycle --------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Listen on `port` (0 = pick a free one; see `port`)."""
        if self._server is not None:
            raise RuntimeError("simulator already started")
        server = OpenEmsModbusServer(
            self,
            host=host,
            port=port,
            max_connections=self._max_connections,
            idle_timeout_s=lambda: self.idle_timeout_s,
        )
        await server.start()
        self._server = server
        self.host, self.port = host, server.bound_port
        self.tick()
        self._start_ticker(self.tick, lambda: self.tick_s)

    async def stop(self) -> None:
        await self._stop_ticker()
        if self._server is not None:
            await self._server.stop()
            self._server = None

    # --- MyProcessImage ---------------------------------------------------------------

    def read(self, unit: int, function_code: int, address: int, count: int) -> list[int] | ExcCodes:
        """FC 3 and 4 are identical; FC 1 and 2 answer all-false bits."""
        if unit != UNIT_ID or not 1 <= count <= MAX_READ or address + count > 0x10000:
            return ExcCodes.ILLEGAL_ADDRESS
        if function_code in (1, 2):
            return [0] * count
        if self.faults.read_exception is not None:
            return ExcCodes(self.faults.read_exception)
        self.tick()
        try:
            words = self._table.read(address, count, self._value)
        except RangeError:
            return ExcCodes.ILLEGAL_ADDRESS
        return words[:-1] if self.faults.short_reads else words

    def write(
        self, unit: int, function_code: int, address: int, words: list[int]
    ) -> ExcCodes | None:
        """FC 6 needs a one-word record starting at `address`; FC 16 the range-fit rule."""
        if unit != UNIT_ID or address + len(words) > 0x10000:
            self._reject(f"address {address}", words, "exception 0x02")
            return ExcCodes.ILLEGAL_ADDRESS
        if function_code not in (6, 16):
            return ExcCodes.ILLEGAL_FUNCTION
        self.tick()
        if function_code == 6:
            record = self._table.records.get(address)
            if record is None or record.kind.words != 1:
                self._reject(
                    f"address {address}", words, "exception 0x02: FC 6 needs a 1-word record"
                )
                return ExcCodes.ILLEGAL_ADDRESS
            records: list[Record | int] = [record]
        else:
            try:
                records = list(self._table.covering(address, len(words)))
            except RangeError as err:
                self._reject(f"address {address}", words, f"exception 0x02: {err}")
                return ExcCodes.ILLEGAL_ADDRESS
        for item in records:
            if isinstance(item, Record):
                offset = item.address - address
                self._commit(item, words[offset : offset + item.kind.words])
        return None

    def _commit(self, record: Record, words: list[int]) -> None:
        target = record.channel or f"address {record.address}"
        if not self.read_write:
            self._reject(target, words, "ignored: read-only API")
            return
        if record.access is not Access.WO or record.channel is None:
            self._reject(target, words, "ignored: not a write channel")
            return
        value = decode_float32(words) if record.kind is RecordType.FLOAT32 else float(words[0])
        # NaN is applied as null (no setpoint); the log shows it as None, i.e. a release.
        self._worker.write(record.channel, value)
        self._apply_writes()
        logged = None if math.isnan(value) else value
        self.writes.record(
            WriteRecord(self._clock(), record.channel, logged, "modbus", logged is not None)
        )

    def _reject(self, target: str, words: list[int], reason: str) -> None:
        self.writes.reject(RejectedWrite(self._clock(), target, str(words), None, reason))

    def _apply_writes(self) -> None:
        """Mirror the controlled ESS's pending writes onto the battery (absent/NaN = none)."""
        if self._controlled is None:
            return
        battery, worker = self.battery, self._worker
        setpoint, upper, lower = (
            worker.int_value(f"{self._controlled}/{name}") for name in _SETPOINTS
        )
        if battery.setpoint_w != setpoint:
            battery.setpoint_w = setpoint
        if battery.discharge_limit_w != upper:
            battery.discharge_limit_w = upper
        if battery.charge_limit_w != lower:
            battery.charge_limit_w = lower

    # --- values -----------------------------------------------------------------------

    def _build_table(self) -> ModbusTable:
        if self._component_missing:
            return reset_table()
        components = [
            (component, SUM_NATURES if component == SUM else self.layout.natures)
            for component in self.components
        ]
        return build_table(
            self.meta, components, firmware=self.meta.version, read_write=self.read_write
        )

    def _value(self, channel: str) -> JsonScalar:
        if self.all_undefined or channel in self.undefined:
            return None
        if channel in self.overrides:
            return self.overrides[channel]
        assert self._values is not None
        return self._values.get(channel)

    def _channel_values(self) -> dict[str, JsonScalar]:
        status = DeviceStatus(firmware=self.firmware, hostname="", state=self.state)
        values = self._image_builder.build(self.battery, status)
        values["_meta/SystemTimeUtc"] = int(time.time())
        ess = {
            key.removeprefix("ess0/"): value
            for key, value in values.items()
            if key.startswith("ess0/")
        }
        # Channels the REST catalogue does not list but the Modbus ESS natures export.
        for phase in (1, 2, 3):
            ess[f"ActivePowerL{phase}"] = values[f"_sum/EssActivePowerL{phase}"]
        ess["DcDischargePower"] = ess["ActivePower"]
        ess["DcChargeEnergy"] = ess["ActiveChargeEnergy"]
        ess["DcDischargeEnergy"] = ess["ActiveDischargeEnergy"]
        for component in self.components:
            if component != SUM:
                values.update({f"{component}/{name}": value for name, value in ess.items()})
        return values


# --- command line -------------------------------------------------------------------


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("fems_modbus (FEMS local Modbus/TCP)")
    group.add_argument(
        "--fems-modbus-port", type=int, default=5502, metavar="PORT", help="Modbus/TCP port"
    )
    group.add_argument(
        "--fems-modbus-layout",
        choices=sorted(LAYOUTS),
        default=FEMS_HOME.name,
        metavar="LAYOUT",
        help=f"register layout, one of {', '.join(sorted(LAYOUTS))}",
    )
    group.add_argument(
        "--fems-modbus-read-only",
        action="store_true",
        help="simulate the read-only Modbus app (writes are ignored)",
    )


async def _launch(args: argparse.Namespace) -> RunningSimulator:
    simulator = FemsModbusSimulator(
        layout=LAYOUTS[args.fems_modbus_layout], read_write=not args.fems_modbus_read_only
    )
    await simulator.start(args.host, args.fems_modbus_port)
    mode = "read-write" if simulator.read_write else "read-only"
    summary = (
        f"fems_modbus ({simulator.layout.name}, {mode}, firmware {simulator.firmware}): "
        f"modbus://{simulator.host}:{simulator.port} unit {UNIT_ID}"
    )
    return RunningSimulator(summary=summary, stop=simulator.stop)


CLI: Final = SimulatorCli(name="fems_modbus", add_arguments=_add_arguments, launch=_launch)
