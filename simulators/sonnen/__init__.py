"""sonnenBatterie local API v1 simulator, with the firmware profiles of the notes."""

from .simulator import CLI, SonnenSimulator

__all__ = ["CLI", "SonnenSimulator"]
