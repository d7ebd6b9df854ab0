"""What a service with keys knows of its clients: the keys, signed sessions, and the
addresses that sent wrong keys. Built once per app; the authentication middleware and the
session routes ask it.
"""

from __future__ import annotations

import math
import time

import structlog
from itsdangerous import BadSignature, TimestampSigner
from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from starlette.requests import HTTPConnection

from entrypoints.api_keys import ApiKeys
from entrypoints.client_identity import Client

log = structlog.get_logger("auth")

SESSION_SALT = "local-sd-session"
FAILURES_PER_MINUTE = 10
DEFAULT_FAILURE_LIMIT = f"{FAILURES_PER_MINUTE}/minute"
_VERIFIED_SESSIONS_KEPT = 1024


class Access:
    """The keys, the session signer and the failure throttle: built once per app."""

    def __init__(
        self,
        keys: ApiKeys,
        *,
        session_hours: float,
        open_access: bool,
        failure_limit: str = DEFAULT_FAILURE_LIMIT,
    ) -> None:
        self.keys = keys
        self.open_access = open_access
        self.session_seconds = int(session_hours * 3600)
        self._signer = TimestampSigner(keys.session_secret(), salt=SESSION_SALT)
        self._verified_sessions: dict[str, tuple[str, float]] = {}
        # Signed out before they expired; kept in memory only (a restart forgets them).
        self._revoked_sessions: set[str] = set()
        self._failures = MovingWindowRateLimiter(MemoryStorage())
        # AUTH_FAILURE_LIMIT, in the `limits` notation (`10/minute`).
        self._failure_limit = parse(failure_limit)

    def client_for_key(self, candidate: str) -> Client | None:
        key = self.keys.match(candidate)
        return Client(key.name, key.admin) if key else None

    def session_value(self, client: Client) -> str:
        value = self._signer.sign(client.id).decode()
        # Signed within the second of a sign-out, the new cookie equals the revoked one.
        self._revoked_sessions.discard(value)
        return value

    def client_for_session(self, value: str) -> Client | None:
        """The session's client while its signature and age hold and its key still exists."""
        if value in self._revoked_sessions:
            return None
        verified = self._verified_sessions.get(value)
        if verified is None:
            try:
                signed, moment = self._signer.unsign(value, return_timestamp=True)
                verified = (signed.decode(), moment.timestamp())
            except (BadSignature, UnicodeDecodeError):
                return None
            # A browser sends the same cookie with every request: its HMAC is checked once.
            if len(self._verified_sessions) >= _VERIFIED_SESSIONS_KEPT:
                self._verified_sessions.clear()
            self._verified_sessions[value] = verified
        if time.time() - verified[1] > self.session_seconds:
            return None
        key = self.keys.named(verified[0])
        return Client(key.name, key.admin) if key else None

    def revoke_session(self, value: str) -> None:
        if self.client_for_session(value) is None:
            return  # forged or expired already: nothing to remember
        if len(self._revoked_sessions) >= _VERIFIED_SESSIONS_KEPT:
            self._revoked_sessions.clear()  # bounded; the oldest would soon expire anyway
        self._revoked_sessions.add(value)
        self._verified_sessions.pop(value, None)

    def throttled(self, address: str) -> int | None:
        """Seconds until ``address`` may try a key again, or None when it may now."""
        if self._failures.test(self._failure_limit, address):
            return None
        reset = self._failures.get_window_stats(self._failure_limit, address).reset_time
        return max(1, math.ceil(reset - time.time()))

    def record_failure(self, address: str, reason: str) -> None:
        self._failures.hit(self._failure_limit, address)
        log.warning("auth_failed", address=address, reason=reason)


def access_of(connection: HTTPConnection) -> Access:
    access: Access = connection.app.state.access
    return access
