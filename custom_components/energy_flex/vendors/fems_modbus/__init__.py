"""FENECON FEMS over local Modbus/TCP (`fems_modbus`)."""
