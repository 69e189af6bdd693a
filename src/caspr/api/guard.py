"""What every request passes before any route runs (a pure ASGI middleware).

In this order, before a byte of the body is read:

1. a request id (``X-Request-ID`` on the response, ``request_id`` in every problem and log line);
2. a client that sent too many unknown keys is locked out for a while (``429`` + ``Retry-After``);
3. authentication: ``Authorization: Bearer <key>`` looked up by its SHA-256; unknown, revoked
   or expired keys get ``401`` with ``WWW-Authenticate: Bearer`` (the body is never read);
4. a per-key rate limit (token bucket; ``429`` + ``Retry-After``);
5. the body size: a declared ``Content-Length`` above the limit is refused at once (``413``);
   a streamed body is counted as it arrives and refused when it passes the limit.

Every response carries the security headers below. Each request is one structured log line.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
from fastapi import HTTPException
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from caspr.api.problems import problem_body
from caspr.store import models as m
from caspr.store.keys import hash_key

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

log = logging.getLogger("caspr.api.access")

PUBLIC = frozenset({"/api/v1/health", "/api/v1/openapi.json"})
SECURITY_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
    (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"strict-transport-security", b"max-age=31536000"),
)


@dataclass(frozen=True, slots=True)
class Settings:
    """Limits of the service (``caspr serve`` reads them from ``CASPR_*`` variables)."""

    max_body: int = 1 << 20
    """Largest JSON body, in bytes (uploads have their own limit)."""
    max_upload: int = 1 << 30
    """Largest snapshot upload, in bytes."""
    rate_per_minute: int = 600
    burst: int = 60
    bad_keys: int = 10
    """Unknown keys a client may send within ``bad_key_window`` seconds before it is locked out."""
    bad_key_window: float = 60.0  # float-ok: time, not money
    lockout: float = 300.0  # float-ok: time, not money
    data_root: Path | None = None
    """Snapshot folders may be registered by path only under this folder (none: never)."""
    store_root: Path | None = None
    """Where uploaded snapshots are kept, by content digest (default: ``data_root/.caspr-store``)."""
    path_roles: tuple[str, ...] = ("exchange", "administrator")
    """Roles that may register a server path (every writer may upload)."""


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling, from their API key."""

    key_hash: str
    role: str
    exchange_id: str | None
    account_id: str | None

    @property
    def actor(self) -> str:
        """How the audit log names the caller (no key material)."""
        return f"{self.role}:{self.exchange_id or ''}:{self.account_id or ''}"


def lookup(factory: sessionmaker[Session], digest: str) -> Principal | None:
    """The key's principal, if it exists, is not revoked and has not expired."""
    with factory() as session:
        key = session.scalars(select(m.ApiKey).where(m.ApiKey.key_hash == digest)).first()
    if key is None or key.revoked_at is not None:
        return None
    if key.expires_at is not None:
        expires = key.expires_at if key.expires_at.tzinfo else key.expires_at.replace(tzinfo=dt.UTC)
        if expires <= dt.datetime.now(tz=dt.UTC):
            return None
    return Principal(digest, key.role, key.exchange_id, key.account_id)


@dataclass(slots=True)
class _Bucket:
    tokens: float  # float-ok: time, not money
    at: float  # float-ok: time, not money


@dataclass(slots=True)
class Limits:
    """In-memory counters (one process; behind several workers, each counts its own)."""

    buckets: dict[str, _Bucket] = field(default_factory=dict)
    failures: dict[str, deque[float]] = field(default_factory=dict)  # float-ok: time, not money
    locked: dict[str, float] = field(default_factory=dict)  # float-ok: time, not money


class Guard:
    """The ASGI middleware described in the module docstring."""

    def __init__(self, app: ASGIApp, factory: sessionmaker[Session], settings: Settings) -> None:
        self.app, self.factory, self.settings, self.limits = app, factory, settings, Limits()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Admit, refuse or pass on one request; add the headers; log it."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = uuid.uuid4().hex[:16]
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        started, status = time.monotonic(), [0]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                headers = list(message.get("headers", []))
                headers.extend(SECURITY_HEADERS)
                headers.append((b"x-request-id", request_id.encode()))
                message["headers"] = headers
            await send(message)

        try:
            refusal = await self._admit(scope, state)
            if refusal is not None:
                await self._refuse(send_with_headers, request_id, *refusal)
                return
            await self.app(scope, self._limited(scope, receive), send_with_headers)
        finally:
            principal = state.get("principal")
            log.info(
                "request",
                extra={
                    "request_id": request_id,
                    "method": scope.get("method"),
                    "path": scope.get("path"),
                    "status": status[0],
                    "ms": round((time.monotonic() - started) * 1000, 1),
                    "role": principal.role if principal else None,
                    "client": (scope.get("client") or ("?",))[0],
                },
            )

    async def _admit(self, scope: Scope, state: dict[str, Any]) -> tuple[int, str, dict[str, str]] | None:
        """None to let the request through, else (status, detail, headers)."""
        if scope["path"] in PUBLIC:
            return self._size_refusal(scope)
        client = (scope.get("client") or ("?",))[0]
        now = time.monotonic()
        until = self.limits.locked.get(client, 0.0)
        if until > now:
            wait = str(math.ceil(until - now))
            return 429, "too many unknown keys from this client; wait", {"Retry-After": wait}
        token = _bearer(scope)
        if token is None:
            return 401, "send Authorization: Bearer <key>", {"WWW-Authenticate": 'Bearer realm="caspr"'}
        principal = await anyio.to_thread.run_sync(lookup, self.factory, hash_key(token))
        if principal is None:
            self._failed(client, now)
            challenge = 'Bearer realm="caspr", error="invalid_token"'
            return 401, "unknown, revoked or expired API key", {"WWW-Authenticate": challenge}
        wait_for = self._take(principal.key_hash, now)
        if wait_for > 0:
            return 429, "rate limit for this key", {"Retry-After": str(math.ceil(wait_for))}
        state["principal"] = principal
        return self._size_refusal(scope)

    def _size_refusal(self, scope: Scope) -> tuple[int, str, dict[str, str]] | None:
        declared = _header(scope, b"content-length")
        if declared is None:
            return None
        if not declared.isdigit() or int(declared) > _limit(scope, self.settings):
            return 413, f"the body is larger than {_limit(scope, self.settings)} bytes", {}
        return None

    def _failed(self, client: str, now: float) -> None:  # float-ok: time, not money
        window = self.limits.failures.setdefault(client, deque())
        window.append(now)
        while window and window[0] < now - self.settings.bad_key_window:
            window.popleft()
        if len(window) >= self.settings.bad_keys:
            self.limits.locked[client] = now + self.settings.lockout
            window.clear()

    def _take(self, key: str, now: float) -> float:  # float-ok: time, not money
        """Take a token from the key's bucket; seconds to wait when there is none."""
        rate = self.settings.rate_per_minute / 60
        bucket = self.limits.buckets.get(key)
        burst = float(self.settings.burst)  # float-ok: time, not money
        if bucket is None:
            bucket = self.limits.buckets[key] = _Bucket(burst, now)
        bucket.tokens = min(burst, bucket.tokens + (now - bucket.at) * rate)
        bucket.at = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return 0.0
        return (1 - bucket.tokens) / rate

    def _limited(self, scope: Scope, receive: Receive) -> Receive:
        limit, seen = _limit(scope, self.settings), [0]

        async def counted() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                seen[0] += len(message.get("body", b""))
                if seen[0] > limit:
                    raise HTTPException(413, f"the body is larger than {limit} bytes")
            return message

        return counted

    @staticmethod
    async def _refuse(send: Send, request_id: str, status: int, detail: str, headers: dict[str, str]) -> None:
        from caspr.api.problems import PROBLEM, TITLES  # noqa: PLC0415

        body = json.dumps(problem_body(status, TITLES.get(status, "Error"), detail, request_id)).encode()
        raw = [(b"content-type", PROBLEM.encode()), (b"content-length", str(len(body)).encode())]
        raw += [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        if status == 413:
            raw.append((b"connection", b"close"))
        await send({"type": "http.response.start", "status": status, "headers": raw})
        await send({"type": "http.response.body", "body": body})


def _limit(scope: Scope, settings: Settings) -> int:
    return settings.max_upload if scope["path"].endswith("/snapshots/upload") else settings.max_body


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


def _bearer(scope: Scope) -> str | None:
    value = _header(scope, b"authorization")
    if value is None or not value.startswith("Bearer "):
        return None
    token = value.removeprefix("Bearer ").strip()
    return token if 0 < len(token) <= 200 else None
