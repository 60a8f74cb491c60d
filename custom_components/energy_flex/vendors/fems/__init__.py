"""What the FEMS connections share, whatever the transport (local REST, local Modbus).

Both deliver a `FemsSnapshot` and write the same OpenEMS channels, so the entity
descriptions (`entities`), the control adapter (`control`) and the entry runtime
(`runtime`) here serve both.
"""
