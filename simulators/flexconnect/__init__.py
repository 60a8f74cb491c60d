"""FlexHome FlexConnect development client simulator, with the command delay of the real one."""

from .simulator import CLI, DEFAULT_SKIS, FlexConnectSimulator

__all__ = ["CLI", "DEFAULT_SKIS", "FlexConnectSimulator"]
