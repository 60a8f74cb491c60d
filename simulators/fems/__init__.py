"""What the FEMS simulators share.

Channels, firmware, the API worker, OpenEMS errors and JSON-RPC bodies.
"""
