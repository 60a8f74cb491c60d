"""Errors every client raises, so the integration maps them in one place."""

from __future__ import annotations

from enum import StrEnum


class EnergyFlexApiError(Exception):
    """Base class of every client error."""


class ApiConnectionError(EnergyFlexApiError):
    """The device could not be reached or did not answer in time."""


class ApiAuthError(EnergyFlexApiError):
    """The device rejected the credentials."""


class ApiResponseError(EnergyFlexApiError):
    """The device answered with something the client cannot use."""


class WriteRejectedReason(StrEnum):
    """Why a device refused a write although the credentials are valid."""

    READ_ONLY_API = "read_only_api"
    ROLE_TOO_LOW = "role_too_low"
    NOT_ACCEPTED = "not_accepted"
    # The device takes setpoints only in a mode the client cannot switch it to.
    MANUAL_MODE_UNAVAILABLE = "manual_mode_unavailable"


class ApiWriteRejectedError(EnergyFlexApiError):
    """The device refused a write; `reason` says what the user can do about it."""

    def __init__(self, reason: WriteRejectedReason) -> None:
        """Remember the reason; the message never carries device text or secrets."""
        super().__init__(f"write rejected: {reason.value}")
        self.reason = reason


class ApiDeviceError(EnergyFlexApiError):
    """The device reported an error of its own, e.g. a documented return code.

    `reason` is a stable id that names the error for the user: the integration shows the
    translation `exceptions.<reason>`. `code` is the device's own number, if it has one.
    """

    def __init__(self, reason: str, code: int | None = None) -> None:
        """Remember the reason and code; the message never carries device text."""
        suffix = "" if code is None else f" (code {code})"
        super().__init__(f"device error: {reason}{suffix}")
        self.reason = reason
        self.code = code
