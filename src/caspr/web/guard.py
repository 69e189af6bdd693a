"""The service's guard, extended to the dashboard's pages (``/`` and ``/web/...``).

:class:`WebGuard` *is* the API's :class:`caspr.api.guard.Guard` (one instance, one set of
counters), with a second way in for browsers:

* **Login** (``POST /web/login``): the key pasted into the form is put where an API caller
  puts it (``Authorization: Bearer``) and admitted by the Guard's own code: the lockout after
  unknown keys, the key lookup (revoked, expired), the per-key rate limit. A login is one more
  try at a key, counted like an API call with a wrong one.
* **Session** (every other page): the session cookie names a server-side session
  (:mod:`caspr.web.sessions`) holding the key's digest; the key is looked up again on every
  request (a revoked or expired key ends its sessions), the lockout is checked, and the
  request takes a token from the same per-key bucket as the key's API calls. An unknown
  session id counts as an unknown key towards the lockout.
* **CSRF**: every form POST carries a token: the session's (synchronizer token), or before
  login the one of the login cookie (double submit); a POST whose ``Origin`` is another site
  is refused. Cookies are ``HttpOnly``, ``SameSite=Strict``, ``Secure`` over https.
* Form bodies are read only from a client that is not locked out and (but for the login)
  holds a live session, only as ``application/x-www-form-urlencoded``, at most
  :data:`FORM_LIMIT` bytes.

Responses of the pages carry the Guard's security headers with the dashboard's own
``Content-Security-Policy`` (same-origin scripts, styles and images; no inline script or
style anywhere). A refusal the Guard or a route answers as ``application/problem+json``
becomes a page in the reader's language: 401 is a redirect to the login form.
"""

from __future__ import annotations

import json
import math
import time
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qsl

import anyio
from sqlalchemy.orm import Session as DbSession
from sqlalchemy.orm import sessionmaker

from caspr.api.guard import ASGIApp, Guard, Message, Receive, Scope, Send, Settings, lookup
from caspr.web import render
from caspr.web.sessions import COOKIE, LOGIN_COOKIE, SessionStore, same

PREFIX = "/web"
LOGIN = "/web/login"
STATIC = "/web/static/"
FORM_LIMIT = 64 * 1024
"""Largest form body (a reform file pasted into the market page fits many times over)."""
CSP = (
    b"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    b"connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
FORM_TYPE = "application/x-www-form-urlencoded"


def is_web(path: str) -> bool:
    """Whether ``path`` is one of the dashboard's (the API stays under ``/api/``)."""
    return path in ("/", PREFIX) or path.startswith(PREFIX + "/")


def is_public(path: str, method: str) -> bool:
    """Pages anyone may fetch: the login form, the static files, ``/`` (a redirect)."""
    return method in ("GET", "HEAD") and (path in ("/", LOGIN) or path.startswith(STATIC))


def header(scope: Scope, name: bytes) -> str | None:
    """A request header's value (latin-1), or None."""
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


def cookie(scope: Scope, name: str) -> str | None:
    """A request cookie's value, or None."""
    raw = header(scope, b"cookie")
    if not raw:
        return None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(raw)
    except Exception:  # a malformed Cookie header: as if there were none
        return None
    morsel = jar.get(name)
    return morsel.value if morsel else None


class WebGuard(Guard):
    """The API's Guard, admitting the dashboard's pages by session (module docstring)."""

    def __init__(
        self, app: ASGIApp, factory: sessionmaker[DbSession], settings: Settings, sessions: SessionStore
    ) -> None:
        super().__init__(app, factory, settings)
        self.sessions = sessions

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pages: read a form (when allowed), render refusals as pages; the rest as the Guard does."""
        if scope["type"] != "http" or not is_web(scope["path"]):
            await super().__call__(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        if scope["method"] == "POST":
            receive = await self._read_form(scope, state, receive)
        await super().__call__(scope, receive, _pages(scope, send))

    def _locked(self, client: str, now: float) -> int | None:  # float-ok: time, not money
        until = self.limits.locked.get(client, 0.0)
        return math.ceil(until - now) if until > now else None

    async def _read_form(  # noqa: PLR0911 - one exit per reason a body is left unread or refused
        self, scope: Scope, state: dict[str, Any], receive: Receive
    ) -> Receive:
        """Read and parse the form body, when the sender may send one; else leave it unread."""
        client = (scope.get("client") or ("?",))[0]
        if self._locked(client, time.monotonic()) is not None:
            return receive  # _admit refuses it (429) unread
        if scope["path"] != LOGIN and self.sessions.get(cookie(scope, COOKIE)) is None:
            return receive  # _admit refuses it (401) unread
        kind = (header(scope, b"content-type") or "").split(";")[0].strip().lower()
        declared = header(scope, b"content-length") or ""
        if kind != FORM_TYPE:
            state["web_refusal"] = (415, f"send the form as {FORM_TYPE}", {})
            return receive
        if not declared.isdigit() or int(declared) > FORM_LIMIT:
            state["web_refusal"] = (413, f"the form is larger than {FORM_LIMIT} bytes", {})
            return receive
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            body += message.get("body", b"")
            if len(body) > FORM_LIMIT:
                state["web_refusal"] = (413, f"the form is larger than {FORM_LIMIT} bytes", {})
                return _replay(receive)
            if not message.get("more_body"):
                break
        try:
            form = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=20))
        except (UnicodeDecodeError, ValueError):
            state["web_refusal"] = (400, "the form could not be read", {})
            return _replay(receive)
        state["web_form"] = form
        if scope["path"] == LOGIN:
            headers = [(k, v) for k, v in scope.get("headers", []) if k.lower() != b"authorization"]
            key = form.get("key", "").strip()
            if key.isascii() and key.isprintable():
                headers.append((b"authorization", f"Bearer {key}".encode()))
            scope["headers"] = headers
        return _replay(receive)

    async def _admit(  # noqa: PLR0911 - one exit per refusal, in the order they are checked
        self, scope: Scope, state: dict[str, Any]
    ) -> tuple[int, str, dict[str, str]] | None:
        """The Guard's admission for the API; for pages, the login or the session (module docstring)."""
        path, method = scope["path"], scope["method"]
        if not is_web(path):
            return await super()._admit(scope, state)
        refusal: tuple[int, str, dict[str, str]] | None = state.pop("web_refusal", None)
        if refusal is not None:
            return refusal
        if is_public(path, method):
            return self._size_refusal(scope)
        form: dict[str, str] = state.get("web_form") or {}
        client = (scope.get("client") or ("?",))[0]
        now = time.monotonic()
        wait = self._locked(client, now)
        if wait is not None:
            return 429, "too many unknown keys from this client; wait", {"Retry-After": str(wait)}
        if method == "POST" and not _same_origin(scope):
            return 403, "a form from another site", {}
        if path == LOGIN and method == "POST":
            if not same(form.get("csrf"), cookie(scope, LOGIN_COOKIE)):
                return 403, "csrf", {}
            return await super()._admit(scope, state)  # lockout, key lookup, rate limit: the Guard's
        sid = cookie(scope, COOKIE)
        session = self.sessions.get(sid)
        if session is None:
            if sid:
                self._failed(client, now)
            return 401, "log in", {}
        principal = await anyio.to_thread.run_sync(lookup, self.factory, session.key_hash)
        if principal is None:
            self.sessions.end_key(session.key_hash)
            return 401, "unknown, revoked or expired API key", {}
        wait_for = self._take(principal.key_hash, now)
        if wait_for > 0:
            return 429, "rate limit for this key", {"Retry-After": str(math.ceil(wait_for))}
        if method == "POST" and not same(form.get("csrf"), session.csrf):
            return 403, "csrf", {}
        state["principal"] = principal
        state["web_session"] = session
        state["web_sid"] = sid
        return self._size_refusal(scope)


def _same_origin(scope: Scope) -> bool:
    """Whether the browser says the form came from this site.

    ``Sec-Fetch-Site`` where the browser sends it (every current one): ``same-origin`` only.
    Else an ``Origin`` naming this host. A browser that sends neither (or ``Origin: null``,
    as Chromium does under ``Referrer-Policy: no-referrer``) is judged by the CSRF token alone.
    """
    site = header(scope, b"sec-fetch-site")
    if site is not None:
        return site == "same-origin"
    origin = header(scope, b"origin")
    if origin is None or origin == "null":
        return True
    host = header(scope, b"host") or ""
    return bool(host) and origin in (f"http://{host}", f"https://{host}")


def _replay(receive: Receive) -> Receive:
    """The body was consumed here: the app sees an empty one, then the real channel."""
    sent = [False]

    async def replay() -> Message:
        if not sent[0]:
            sent[0] = True
            return {"type": "http.request", "body": b"", "more_body": False}
        return await receive()

    return replay


def _pages(scope: Scope, send: Send) -> Send:
    """The dashboard's CSP on every page; a problem+json refusal rendered as a page."""
    held: dict[str, Any] = {}

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = [
                (k, v) for k, v in message.get("headers", []) if k.lower() != b"content-security-policy"
            ]
            headers.append((b"content-security-policy", CSP))
            kind = next((v for k, v in headers if k.lower() == b"content-type"), b"")
            if kind.startswith(b"application/problem+json"):
                held.update(status=message["status"], headers=headers, body=b"")
                return
            message["headers"] = headers
            await send(message)
            return
        if held and message["type"] == "http.response.body":
            held["body"] += message.get("body", b"")
            if message.get("more_body"):
                return
            await _send_page(scope, send, held)
            return
        await send(message)

    return wrapped


async def _send_page(scope: Scope, send: Send, held: dict[str, Any]) -> None:
    try:
        detail = str(json.loads(held["body"]).get("detail", ""))
    except (ValueError, AttributeError):
        detail = ""
    keep = [
        (k, v)
        for k, v in held["headers"]
        if k.lower() not in (b"content-type", b"content-length", b"www-authenticate")
    ]
    status, body, extra = render.refusal_page(scope, held["status"], detail)
    keep += extra
    keep += [(b"content-type", b"text/html; charset=utf-8"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": keep})
    await send({"type": "http.response.body", "body": body})
