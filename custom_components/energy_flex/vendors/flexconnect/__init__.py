"""FlexHome FlexConnect development client (`flexconnect`)."""

from .setup import FlexConnectVendor

__all__ = ["FlexConnectVendor"]
