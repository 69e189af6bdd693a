"""RFC 9457 problem bodies for every error, with the request id; never a stack trace."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM = "application/problem+json"
log = logging.getLogger("caspr.api")

TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Content too large",
    415: "Unsupported media type",
    422: "Invalid request",
    429: "Too many requests",
    500: "Internal error",
}


class ProblemError(Exception):
    """An RFC 9457 problem to return (``headers`` e.g. ``Retry-After``)."""

    def __init__(self, status: int, title: str, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail, self.headers = status, title, detail, headers or {}


def problem_body(status: int, title: str, detail: str, request_id: str | None) -> dict[str, Any]:
    """The problem document (``request_id`` is an extension member, RFC 9457 §3.2)."""
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    if request_id:
        body["request_id"] = request_id
    return body


def problem(
    status: int, title: str, detail: str, request_id: str | None = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    """A problem+json response."""
    return JSONResponse(
        problem_body(status, title, detail, request_id),
        status_code=status,
        media_type=PROBLEM,
        headers=headers,
    )


def _rid(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)


def allowed(request: Request) -> list[str]:
    """Every method some route accepts at this path (Starlette names only the first route's)."""
    methods: set[str] = set()
    pending = list(request.app.router.routes)
    while pending:
        route = pending.pop()
        inner = getattr(route, "original_router", None)
        if inner is not None:  # an included router (FastAPI wraps them)
            pending.extend(inner.routes)
            continue
        regex = getattr(route, "path_regex", None)
        if regex is not None and regex.match(request.url.path):
            methods |= set(getattr(route, "methods", None) or ())
    return sorted(methods)


def install(app: FastAPI) -> None:
    """Turn every error into a problem: ours, HTTP errors (keeping ``Allow``), validation, the rest."""

    @app.exception_handler(ProblemError)
    async def _problem(request: Request, exc: ProblemError) -> JSONResponse:
        return problem(exc.status, exc.title, exc.detail, _rid(request), exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        title = TITLES.get(exc.status_code, "HTTP error")
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(allowed(request))
        return problem(exc.status_code, title, str(exc.detail), _rid(request), headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(x) for x in first.get("loc", ()))
        return problem(422, "Invalid request", f"{where}: {first.get('msg', 'invalid')}", _rid(request))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled error", exc_info=exc, extra={"request_id": _rid(request)})
        return problem(500, "Internal error", "an internal error; quote the request id", _rid(request))
