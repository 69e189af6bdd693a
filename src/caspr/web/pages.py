"""The dashboard's routes: one page per role's question, every decision by :mod:`caspr.api.access`.

* ``/web/exchanges/{id}``: coverage over time and the latest findings (the exchange, its
  administrator, a regulator; anyone else 404).
* ``/web/market``: every exchange the caller may read, its latest requirement, funding,
  coverage and breaches, sortable, and a reform applied side by side (a regulator sees the
  market; an exchange key sees only its own rows).
* ``/web/exchanges/{id}/distributions``: a distribution's progress by round and asset.
* ``/web/me``: a customer's claims and payouts (their own only: read through the API's own
  payout routes); ``/web/payouts/{id}``: one of them.
"""

from __future__ import annotations

from importlib import resources
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from caspr.api.access import Caller, Db, TextId, may_read_exchange, not_found
from caspr.api.guard import Principal
from caspr.api.problems import ProblemError
from caspr.api.routes.payouts import get_payout, list_payouts
from caspr.errors import InputError
from caspr.report.i18n import languages
from caspr.store import models as m
from caspr.web import data, render
from caspr.web.sessions import COOKIE, LOGIN_COOKIE, Session, SessionStore

router = APIRouter(include_in_schema=False)

STATIC_TYPES = {
    "caspr.css": "text/css; charset=utf-8",
    "htmx.min.js": "text/javascript; charset=utf-8",
    "htmx.LICENSE.txt": "text/plain; charset=utf-8",
}


def _session(request: Request) -> Session:
    session: Session = request.state.web_session
    return session


def _language(request: Request, jurisdiction: str | None = None) -> str:
    """The page's language; a ``?lang=`` choice is kept for the session."""
    session: Session | None = getattr(request.state, "web_session", None)
    chosen = render.query_language(request.scope)
    if chosen and session is not None:
        session.language = chosen
    return render.choose(request.scope, session.language if session else None, jurisdiction)


def _page(
    request: Request, template: str, who: Principal, jurisdiction: str | None = None, **context: Any
) -> HTMLResponse:
    status = int(context.pop("status", 200))
    body = render.page(
        template,
        _language(request, jurisdiction),
        who=who,
        csrf=_session(request).csrf,
        here=request.url.path,
        **context,
    )
    return HTMLResponse(body, status_code=status)


def home_of(who: Principal) -> str:
    """The first page of each role."""
    if who.role == "regulator":
        return "/web/market"
    if who.role == "customer":
        return "/web/me"
    if who.role == "administrator":
        return f"/web/exchanges/{quote(who.exchange_id or '')}/distributions"
    return f"/web/exchanges/{quote(who.exchange_id or '')}"


@router.get("/")
def root() -> RedirectResponse:
    """The dashboard."""
    return RedirectResponse("/web/", status_code=303)


@router.get("/web/")
def home(who: Caller) -> RedirectResponse:
    """Each role's first page."""
    return RedirectResponse(home_of(who), status_code=303)


@router.get("/web/static/{name}")
def static(name: str) -> Response:
    """The stylesheet and htmx (vendored; nothing is loaded from elsewhere)."""
    kind = STATIC_TYPES.get(name)
    if kind is None:
        raise not_found("file")
    return Response(resources.files("caspr.web").joinpath("static", name).read_bytes(), media_type=kind)


@router.get("/web/login")
def login_form(request: Request, next: Annotated[str | None, Query(max_length=300)] = None) -> Response:
    """The login form: paste an API key."""
    status, body, headers = render.login_page(request.scope, None, next)
    response = HTMLResponse(body, status_code=status)
    for name, value in headers:
        response.raw_headers.append((name, value))
    return response


@router.post("/web/login")
def login(request: Request, who: Caller) -> Response:
    """The Guard admitted the pasted key: open a session for its digest."""
    store: SessionStore = request.app.state.web_sessions
    sid, session = store.create(who.key_hash)
    form: dict[str, str] = request.state.web_form
    if form.get("lang") in languages():
        session.language = form["lang"]  # the language the login page was read in
    target = render.safe_next(form.get("next"))
    response = Response(status_code=303, headers={"Location": target if target != "/web/" else home_of(who)})
    response.raw_headers.append((b"set-cookie", render.cookie_header(request.scope, COOKIE, sid)))
    response.raw_headers.append(
        (b"set-cookie", render.cookie_header(request.scope, LOGIN_COOKIE, "", path="/web/login", max_age=0))
    )
    return response


@router.post("/web/logout")
def logout(request: Request, who: Caller) -> Response:
    """End the session (the key itself stays valid for the API)."""
    store: SessionStore = request.app.state.web_sessions
    store.end(request.state.web_sid)
    response = Response(status_code=303, headers={"Location": "/web/login"})
    response.raw_headers.append((b"set-cookie", render.cookie_header(request.scope, COOKIE, "", max_age=0)))
    del who
    return response


def _exchange(factory: Db, exchange_id: str) -> m.Exchange:
    with factory() as session:
        row = session.get(m.Exchange, exchange_id)
    if row is None:
        raise not_found(f"exchange {exchange_id}")
    return row


@router.get("/web/exchanges/{exchange_id}")
def exchange_page(request: Request, exchange_id: TextId, who: Caller, factory: Db) -> HTMLResponse:
    """Coverage over time and the latest findings of one exchange."""
    may_read_exchange(who, exchange_id)
    exchange = _exchange(factory, exchange_id)
    rows = data.history(factory, exchange_id)
    return _page(
        request,
        "exchange.html.j2",
        who,
        exchange.jurisdiction,
        exchange=exchange,
        rows=rows,
        chart=data.coverage_chart(rows),
        findings=data.latest_findings(rows),
    )


def _market_rows(request: Request, who: Principal, factory: Db) -> list[data.MarketRow]:
    with factory() as session:
        ids = list(session.scalars(select(m.Exchange.id).order_by(m.Exchange.id)))
    readable = []
    for exchange_id in ids:
        try:
            may_read_exchange(who, exchange_id)
        except ProblemError:  # not readable by this caller: left out
            continue
        readable.append(exchange_id)
    if not readable and who.role != "regulator":
        raise not_found("market")
    rows = data.market(factory, readable)
    reform = _session(request).reform
    return data.apply_reform(factory, rows, reform["overrides"]) if reform else rows


@router.get("/web/market")
def market_page(
    request: Request,
    who: Caller,
    factory: Db,
    sort: Annotated[str, Query(pattern="^[a-z_]{1,30}$")] = "exchange",
    order: Annotated[str, Query(pattern="^(asc|desc)$")] = "asc",
) -> HTMLResponse:
    """The market table (sortable by any column; a reform beside it when one is set)."""
    return _market(request, who, factory, sort, order, None, None)


def _market(
    request: Request, who: Principal, factory: Db, sort: str, order: str, error: str | None, text: str | None
) -> HTMLResponse:
    column = sort if sort in data.SORTABLE else "exchange"
    rows = data.sort_rows(_market_rows(request, who, factory), column, order == "desc")
    reform = _session(request).reform
    return _page(
        request,
        "market.html.j2",
        who,
        None,
        rows=rows,
        sort=column,
        order=order,
        reform=reform,
        reform_error=error,
        reform_text=text if text is not None else (reform["text"] if reform else ""),
        status=422 if error else 200,
    )


@router.post("/web/market/reform")
def set_reform(request: Request, who: Caller, factory: Db) -> Response:
    """Apply a reform file (as ``caspr assess --params`` reads it) to the market, for this session."""
    text = request.state.web_form.get("reform", "")
    session = _session(request)
    if request.state.web_form.get("clear"):
        session.reform = None
        return RedirectResponse("/web/market", status_code=303)
    try:
        overrides = data.parse_reform(text)
        if not overrides:
            raise InputError([])
    except InputError as error:
        where = "; ".join(f"{p.column or ''}: {p.message}" for p in error.problems[:5]) or "empty"
        return _market(request, who, factory, "exchange", "asc", where, text)
    session.reform = {"overrides": overrides, "text": text}
    return RedirectResponse("/web/market", status_code=303)


@router.get("/web/exchanges/{exchange_id}/distributions")
def distributions_page(
    request: Request,
    exchange_id: TextId,
    who: Caller,
    factory: Db,
    fragment: Annotated[bool, Query()] = False,
) -> HTMLResponse:
    """Distribution (and incident) runs: progress by round and asset; htmx refreshes a running one."""
    may_read_exchange(who, exchange_id)
    exchange = _exchange(factory, exchange_id)
    views = data.runs(factory, exchange_id)
    template = "runs.html.j2" if fragment else "distributions.html.j2"
    return _page(request, template, who, exchange.jurisdiction, exchange=exchange, runs=views)


@router.get("/web/me")
def customer_page(request: Request, who: Caller, factory: Db) -> Response:
    """A customer's claims (balances at each run's record date) and payouts: their own only."""
    if who.role != "customer" or who.exchange_id is None or who.account_id is None:
        return RedirectResponse(home_of(who), status_code=303)
    exchange = _exchange(factory, who.exchange_id)
    payouts = list_payouts(who, factory, limit=1000)  # the API's own route: a customer's own payouts only
    by_run: dict[str, list[dict[str, Any]]] = {}
    for p in payouts:
        by_run.setdefault(p["run_id"], []).append(p)
    return _page(
        request,
        "customer.html.j2",
        who,
        exchange.jurisdiction,
        exchange=exchange,
        claims=data.claims(factory, who.exchange_id, who.account_id),
        payouts=payouts,
        by_run=by_run,
    )


@router.get("/web/payouts/{payout_id}")
def payout_page(
    request: Request,
    payout_id: Annotated[str, PathParam(pattern="^[0-9a-f]{1,64}$")],
    who: Caller,
    factory: Db,
) -> HTMLResponse:
    """One payout; 404 for anyone the API would refuse it to (a customer: all but their own)."""
    payout = get_payout(payout_id, who, factory)  # the API's own route decides
    with factory() as session:
        exchange = session.get(m.Exchange, payout["exchange_id"])
    return _page(request, "payout.html.j2", who, exchange.jurisdiction if exchange else None, payout=payout)
