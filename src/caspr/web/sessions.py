"""Browser sessions of the dashboard: server-side, in memory, bound to an API key's digest.

A session holds no key: only the SHA-256 the key is stored under, so every request looks the
key up again (:func:`caspr.api.guard.lookup`) and a revoked or expired key ends the session at
its next request. The cookie carries a random session id (256 bits); the store keeps the
id's SHA-256, never the id. A session ends at logout, after ``idle`` seconds without a
request, or ``lifetime`` seconds after login, whichever comes first. Like the rate-limit
counters, sessions are per process: a restart logs everyone out, and behind several workers
a browser must stay with one (sticky sessions) or log in again.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

COOKIE = "caspr_session"
LOGIN_COOKIE = "caspr_login"
"""The login form's CSRF token before there is a session (double submit, SameSite=Strict)."""


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token() -> str:
    """A fresh random token (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)


def same(a: str | None, b: str | None) -> bool:
    """Constant-time equality of two tokens (False when either is missing)."""
    return bool(a) and bool(b) and secrets.compare_digest(str(a).encode(), str(b).encode())


@dataclass(slots=True)
class Session:
    """One logged-in browser."""

    key_hash: str
    csrf: str
    created: float  # float-ok: time, not money
    seen: float  # float-ok: time, not money
    language: str | None = None
    """The language chosen with ``?lang=`` (kept for the session's later pages)."""
    reform: dict[str, Any] | None = None
    """The reform applied to the market table: its overrides and the text pasted."""


@dataclass(slots=True)
class SessionStore:
    """The sessions of one process (bounded: the oldest is dropped past ``capacity``)."""

    idle: float = 1800.0  # float-ok: time, not money
    lifetime: float = 12 * 3600.0  # float-ok: time, not money
    capacity: int = 10_000
    _rows: OrderedDict[str, Session] = field(default_factory=OrderedDict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def create(self, key_hash: str) -> tuple[str, Session]:
        """A new session for the key with digest ``key_hash``: (cookie value, session)."""
        sid, now = token(), time.monotonic()
        session = Session(key_hash, token(), now, now)
        with self._lock:
            self._rows[_digest(sid)] = session
            while len(self._rows) > self.capacity:
                self._rows.popitem(last=False)
        return sid, session

    def get(self, sid: str | None) -> Session | None:
        """The live session of cookie value ``sid`` (an expired one is dropped)."""
        if not sid or len(sid) > 100:
            return None
        now, key = time.monotonic(), _digest(sid)
        with self._lock:
            session = self._rows.get(key)
            if session is None:
                return None
            if now - session.seen > self.idle or now - session.created > self.lifetime:
                del self._rows[key]
                return None
            session.seen = now
            self._rows.move_to_end(key)
            return session

    def end(self, sid: str | None) -> None:
        """Log out: forget the session (a no-op when there is none)."""
        if sid:
            with self._lock:
                self._rows.pop(_digest(sid), None)

    def end_key(self, key_hash: str) -> int:
        """End every session of a key (revoked or expired); how many were ended."""
        with self._lock:
            gone = [k for k, s in self._rows.items() if s.key_hash == key_hash]
            for k in gone:
                del self._rows[k]
        return len(gone)
