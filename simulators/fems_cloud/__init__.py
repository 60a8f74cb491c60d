"""FENECON FEMS cloud simulator: the OpenEMS backend's JSON-RPC over HTTP (notes §3)."""

from .accounts import CloudUser, Role, default_users
from .edge import FIX_ACTIVE_POWER, FIX_ACTIVE_POWER_ID, SimulatedEdge
from .server import (
    CLI,
    JSONRPC_PATH,
    ErrorShape,
    FemsCloudSimulator,
    RequestLogEntry,
    default_edges,
)

__all__ = [
    "CLI",
    "FIX_ACTIVE_POWER",
    "FIX_ACTIVE_POWER_ID",
    "JSONRPC_PATH",
    "CloudUser",
    "ErrorShape",
    "FemsCloudSimulator",
    "RequestLogEntry",
    "Role",
    "SimulatedEdge",
    "default_edges",
    "default_users",
]
