"""Tests of FEMS over Modbus/TCP: simulator, client and integration."""
