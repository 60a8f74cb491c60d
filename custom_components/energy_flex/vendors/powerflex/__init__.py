"""PowerFlex EV-charging cloud (`powerflex`): one site, its charging stations, DCM control."""

from .setup import PowerFlexVendor

__all__ = ["PowerFlexVendor"]
