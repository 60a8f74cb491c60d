"""FENECON FEMS over the local REST/JSON API (`fems_rest`)."""

from .setup import FemsRestVendor

__all__ = ["FemsRestVendor"]
