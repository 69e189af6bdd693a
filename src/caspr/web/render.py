"""Templates, language and formats of the dashboard's pages.

Words come from the reports' Babel catalogue (:mod:`caspr.report.i18n`: the ``web.*`` keys
of ``locale/<lang>/LC_MESSAGES/caspr.po``); amounts are written exactly, grouped, with at
least the currency's minor unit (ISO 4217: ``50,000.00 EUR``, ``1,234円``), never rounded.
The language is ``?lang=`` (kept for the session), else the browser's ``Accept-Language``,
else the language of the exchange's jurisdiction, else English.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from functools import cache
from typing import Any
from urllib.parse import parse_qsl, quote

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from caspr.currency import minor_unit
from caspr.money import canonical
from caspr.report.i18n import DEFAULT_LANGUAGE, Language, group, language_for, languages

Scope = dict[str, Any]


@cache
def environment() -> Environment:
    """The pages' templates: autoescaped, undefined names an error."""
    return Environment(
        loader=PackageLoader("caspr.web", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _header(scope: Any, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


def accepted(header: str | None) -> list[str]:
    """The languages of an ``Accept-Language`` header we have, most wanted first."""
    known, ranked = set(languages()), []
    for position, part in enumerate((header or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = Decimal(1)
        if params.strip().startswith("q="):
            try:
                quality = Decimal(params.strip()[2:])
            except ArithmeticError:
                continue
        code = tag.strip().lower().split("-")[0]
        if code in known and quality > 0:
            ranked.append((-quality, position, code))
    return [code for _, _, code in sorted(ranked)]


def query_language(scope: Any) -> str | None:
    """``?lang=`` when it names a language we have."""
    query = scope.get("query_string", b"").decode("latin-1")
    wanted = dict(parse_qsl(query)).get("lang")
    return wanted if wanted in languages() else None


def choose(scope: Any, session_language: str | None = None, jurisdiction: str | None = None) -> str:
    """The page's language (module docstring)."""
    return (
        query_language(scope)
        or session_language
        or next(iter(accepted(_header(scope, b"accept-language"))), None)
        or (language_for(jurisdiction) if jurisdiction else DEFAULT_LANGUAGE)
    )


def amount_text(value: Decimal, currency: str, lang: Language) -> str:
    """An exact amount, grouped, with at least the currency's minor unit; an asset's exactly."""
    text = canonical(value)
    try:
        places = minor_unit(currency)
    except KeyError:  # a crypto-asset: as many places as it has, no more, no fewer
        places = 0
    whole, _, fraction = text.partition(".")
    if len(fraction) < places:
        fraction = fraction.ljust(places, "0")
    grouped = group(f"{whole}.{fraction}" if fraction else whole)
    if lang.code == "ja" and currency == "JPY":
        return f"{grouped}円"
    return f"{grouped} {currency}"


def helpers(lang: Language) -> dict[str, Any]:
    """What every template can call."""

    def amount(value: Decimal | str | None, currency: str) -> Markup:
        if value is None:
            return Markup('<span class="none">—</span>')
        exact = Decimal(value)
        return Markup('<span class="amount" data-amount="{}">{}</span>').format(
            canonical(exact), amount_text(exact, currency, lang)
        )

    def ratio(value: Decimal | str | None) -> str:
        return lang.percent(Decimal(value)) if value is not None else "—"

    def date(value: dt.date | dt.datetime | None) -> str:
        if value is None:
            return "—"
        return lang.date(value.date() if isinstance(value, dt.datetime) else value)

    return {
        "t": lang.t,
        "t_or": lang.t_or,
        "amount": amount,
        "ratio": ratio,
        "date": date,
        "number": lambda n: lang.number(Decimal(n)),
        "lang": lang.code,
        "languages": languages(),
        "quote": quote,
    }


def page(template: str, language: str, **context: Any) -> str:
    """A rendered page."""
    values = helpers(Language(language))
    values.update(context)
    return environment().get_template(template).render(**values)


def cookie_header(scope: Any, name: str, value: str, path: str = "/", max_age: int | None = None) -> bytes:
    """A ``Set-Cookie`` value: HttpOnly, SameSite=Strict, Secure when the request came over https."""
    parts = [f"{name}={value}", f"Path={path}", "HttpOnly", "SameSite=Strict"]
    if max_age is not None:
        parts.append(f"Max-Age={max_age}")
    if scope.get("scheme") == "https":
        parts.append("Secure")
    return "; ".join(parts).encode()


def safe_next(target: str | None) -> str:
    """Where to go after login: a page of the dashboard, never another site."""
    if target and target.startswith("/web/") and "//" not in target and "\\" not in target:
        return target
    return "/web/"


def login_page(
    scope: Any, error: str | None, next_page: str | None, status: int = 200
) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
    """The login form with a fresh CSRF token (also set as the login cookie)."""
    from caspr.web.sessions import LOGIN_COOKIE, token  # noqa: PLC0415 - avoids an import cycle

    csrf = token()
    language = choose(scope)
    body = page(
        "login.html.j2",
        language,
        csrf=csrf,
        error=error,
        next_page=safe_next(next_page),
        who=None,
        chosen=query_language(scope),
    )
    cookie = cookie_header(scope, LOGIN_COOKIE, csrf, path="/web/login", max_age=3600)
    return status, body.encode(), [(b"set-cookie", cookie)]


REFUSAL_KEYS = {
    400: "web.error.400",
    403: "web.error.403",
    404: "web.error.404",
    405: "web.error.405",
    409: "web.error.409",
    413: "web.error.413",
    415: "web.error.415",
    422: "web.error.422",
    429: "web.error.429",
}


def refusal_page(scope: Any, status: int, detail: str) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
    """A refusal as a page: 401 sends the browser to the login form; the rest say why."""
    from caspr.web.sessions import COOKIE  # noqa: PLC0415

    path, method = scope.get("path", "/"), scope.get("method", "GET")
    if status == 401:
        expired = cookie_header(scope, COOKIE, "", max_age=0)
        if path == "/web/login" and method == "POST":
            return login_page(scope, "web.login.refused", None, 401)
        return 303, b"", [(b"location", f"/web/login?next={quote(path)}".encode()), (b"set-cookie", expired)]
    language = choose(scope)
    key = REFUSAL_KEYS.get(status, "web.error.other")
    if status == 403 and detail == "csrf":
        key = "web.error.csrf"
    body = page("error.html.j2", language, status=status, message_key=key, who=None)
    return status, body.encode(), []
