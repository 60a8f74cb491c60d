"""HS256 JSON web tokens as the PowerFlex login hands them out (Flask-JWT-Extended claims).

Signed for real with the simulator's secret, so a tampered or foreign token is refused;
`exp` is real, so tests can let a token expire by moving the simulator's clock.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
from enum import StrEnum
from typing import Final

from ..jsontypes import JsonValue

_HEADER: Final[dict[str, JsonValue]] = {"alg": "HS256", "typ": "JWT"}


class TokenProblem(StrEnum):
    """Why a token is refused (each answers 401)."""

    MALFORMED = "malformed"
    BAD_SIGNATURE = "bad_signature"
    EXPIRED = "expired"


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _json(value: JsonValue) -> bytes:
    return json.dumps(value, separators=(",", ":"), sort_keys=True).encode()


class TokenIssuer:
    """Issues and checks tokens with one secret; `rotate()` invalidates all of them."""

    def __init__(self, secret: bytes = b"powerflex-simulator") -> None:
        self._secret = secret
        self._generation = 0
        self._jti = itertools.count(1)

    def rotate(self) -> None:
        """A new signing key: every token issued so far is refused from now on."""
        self._generation += 1

    def _key(self) -> bytes:
        return hashlib.sha256(self._secret + str(self._generation).encode()).digest()

    def issue(self, identity: str, now: float, lifetime_s: float) -> str:
        issued = int(now)
        payload: dict[str, JsonValue] = {
            "exp": issued + int(lifetime_s),
            "fresh": False,
            "iat": issued,
            "identity": identity,
            "jti": f"sim-{next(self._jti):08d}",
            "nbf": issued,
            "type": "access",
        }
        signing_input = f"{_b64(_json(_HEADER))}.{_b64(_json(payload))}"
        signature = hmac.new(self._key(), signing_input.encode(), hashlib.sha256).digest()
        return f"{signing_input}.{_b64(signature)}"

    def check(self, token: str, now: float) -> TokenProblem | None:
        """`None` for a valid token, else why it is refused."""
        parts = token.split(".")
        if len(parts) != 3:
            return TokenProblem.MALFORMED
        signing_input = f"{parts[0]}.{parts[1]}".encode()
        expected = hmac.new(self._key(), signing_input, hashlib.sha256).digest()
        try:
            signature = _unb64(parts[2])
            payload = json.loads(_unb64(parts[1]))
        except ValueError:
            return TokenProblem.MALFORMED
        if not hmac.compare_digest(signature, expected):
            return TokenProblem.BAD_SIGNATURE
        expires = payload.get("exp") if isinstance(payload, dict) else None
        if not isinstance(expires, int) or now >= expires:
            return TokenProblem.EXPIRED
        return None
