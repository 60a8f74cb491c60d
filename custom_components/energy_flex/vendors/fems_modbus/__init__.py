"""FENECON FEMS over local Modbus/TCP (`fems_modbus`)."""

from .setup import FemsModbusVendor

__all__ = ["FemsModbusVendor"]
