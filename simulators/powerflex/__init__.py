"""PowerFlex EV-charging cloud simulator: `PowerFlexSimulator` and its `CLI`."""

from .simulator import CLI, PowerFlexSimulator, RequestRecord

__all__ = ["CLI", "PowerFlexSimulator", "RequestRecord"]
