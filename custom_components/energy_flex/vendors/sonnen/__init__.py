"""sonnenBatterie over its local API v1 (`sonnen`)."""

from .setup import SonnenVendor

__all__ = ["SonnenVendor"]
