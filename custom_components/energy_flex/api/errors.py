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


class ApiWriteRejectedError(EnergyFlexApiError):
    """The device refused a write; `reason` says what the user can do about it."""

    def __init__(self, reason: WriteRejectedReason) -> None:
        """Remember the reason; the message never carries device text or secrets."""
        super().__init__(f"write rejected: {reason.value}")
        self.reason = reason
