"""Home-Assistant-free async clients, one module per transport.

Nothing below this package imports Home Assistant: the clients take an injected
aiohttp session (or open their own Modbus connection) and return typed snapshots.
"""
