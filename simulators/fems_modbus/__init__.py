"""FEMS local Modbus/TCP simulator: a pymodbus server over the self-describing block table."""

from .simulator import CLI, FemsModbusSimulator

__all__ = ["CLI", "FemsModbusSimulator"]
