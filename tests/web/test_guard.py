"""The dashboard's guard and formats over HTTP (no browser): login through the API's lockout and
rate limit, cookies, CSRF and Origin, the CSP, session expiry, exact amounts, languages."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from caspr.api.app import create_app
from caspr.report.i18n import Language
from caspr.web import render
from caspr.web.sessions import SessionStore
from tests.api.conftest import make_key, release, settings

TEMPLATES = Path(__file__).parents[2] / "src" / "caspr" / "web" / "templates"


@pytest.fixture
def web(tmp_path):
    url = f"sqlite:///{tmp_path / 'caspr.sqlite'}"
    app = create_app(url, settings(tmp_path, bad_keys=3))
    with TestClient(app) as client:
        yield client, url
    release(app)


def form_token(client, path="/web/login") -> str:
    page = client.get(path)
    assert page.status_code == 200
    return re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)


def log_in(client, key):
    csrf = form_token(client)
    return client.post("/web/login", data={"csrf": csrf, "key": key, "next": "/web/"}, follow_redirects=False)


def test_login_opens_a_strict_http_only_session_and_a_wrong_key_counts_towards_the_lockout(web):
    client, url = web
    key = make_key(url, "regulator")
    done = log_in(client, key)
    assert done.status_code == 303 and done.headers["location"] == "/web/market"
    cookie = next(c for c in done.headers.get_list("set-cookie") if c.startswith("caspr_session="))
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" not in cookie  # plain http here
    assert key not in cookie  # the cookie names a session, it is not the key
    assert client.get("/web/market").status_code == 200
    client.cookies.clear()
    for _ in range(3):  # settings(bad_keys=3): three unknown keys lock this client out
        refused = log_in(client, "caspr_wrong")
        assert refused.status_code == 401 and "unknown, revoked or expired" in refused.text
    locked = log_in(client, key)  # even the right key, now
    assert locked.status_code == 429 and int(locked.headers["retry-after"]) > 0
    assert client.get("/api/v1/payouts", headers={"Authorization": f"Bearer {key}"}).status_code == 429  # one lockout


def test_secure_cookie_over_https(tmp_path):
    url = f"sqlite:///{tmp_path / 'caspr.sqlite'}"
    app = create_app(url, settings(tmp_path))
    with TestClient(app, base_url="https://testserver") as client:
        done = log_in(client, make_key(url, "regulator"))
        assert all("Secure" in c for c in done.headers.get_list("set-cookie"))
    release(app)


def test_every_post_needs_its_token_and_this_site_as_origin(web):
    client, url = web
    key = make_key(url, "regulator")
    assert log_in(client, key).status_code == 303
    csrf = form_token(client, "/web/market")
    assert client.post("/web/logout", data={"other": "1"}, follow_redirects=False).status_code == 403
    assert client.post("/web/logout", data={"csrf": "x" * 43}, follow_redirects=False).status_code == 403
    cross = client.post(
        "/web/logout", data={"csrf": csrf}, headers={"Sec-Fetch-Site": "cross-site"}, follow_redirects=False
    )
    assert cross.status_code == 403
    evil = client.post("/web/logout", data={"csrf": csrf}, headers={"Origin": "https://evil.example"})
    assert evil.status_code == 403
    assert client.get("/web/market").status_code == 200  # none of those logged out
    out = client.post("/web/logout", data={"csrf": csrf}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/web/login"
    gone = client.get("/web/market", follow_redirects=False)
    assert gone.status_code == 303 and gone.headers["location"].startswith("/web/login?next=")
    assert client.post("/web/login", data={"key": key}, follow_redirects=False).status_code == 403  # no token


def test_pages_have_a_csp_without_unsafe_inline_and_no_inline_code(web):
    client, _ = web
    page = client.get("/web/login")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "style-src 'self'" in policy and "unsafe" not in policy
    assert len(page.headers.get_list("content-security-policy")) == 1
    assert page.headers["x-frame-options"] == "DENY"
    assert client.get("/api/v1/health").headers["content-security-policy"].startswith("default-src 'none'")
    for template in TEMPLATES.glob("*.j2"):
        text = template.read_text(encoding="utf-8")
        assert not re.search(r"<script(?![^>]*\bsrc=)", text), template.name
        assert " style=" not in text and "<style" not in text, template.name
        assert not re.search(r"\son[a-z]+\s*=", text), template.name  # no inline event handlers
    htmx = client.get("/web/static/htmx.min.js")
    assert htmx.status_code == 200 and htmx.headers["content-type"].startswith("text/javascript")
    assert client.get("/web/static/..%2Fguard.py").status_code == 404
    assert client.get("/web/static/secret.txt").status_code == 404


def test_forms_are_read_only_as_small_urlencoded_bodies(web):
    client, _ = web
    csrf = form_token(client)
    assert client.post("/web/login", json={"csrf": csrf}).status_code == 415
    big = client.post("/web/login", content=b"csrf=" + b"a" * 70_000, headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert big.status_code == 413


def test_sessions_end_when_idle_or_old(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr("caspr.web.sessions.time.monotonic", lambda: clock[0])
    store = SessionStore(idle=60, lifetime=100)
    sid, _ = store.create("digest")
    clock[0] += 59
    assert store.get(sid) is not None
    clock[0] += 59  # 59 s since it was last seen: alive, 118 s old: past its lifetime
    assert store.get(sid) is None
    sid, _ = store.create("digest")
    clock[0] += 61
    assert store.get(sid) is None  # idle too long
    a, _ = store.create("k1")
    b, _ = store.create("k1")
    assert store.end_key("k1") == 2 and store.get(a) is None and store.get(b) is None
    assert store.get("") is None and store.get("x" * 500) is None


@pytest.mark.parametrize(
    ("value", "currency", "lang", "text"),
    [
        ("50000", "EUR", "en", "50,000.00 EUR"),  # the cent shows: 50,000 EUR could hide 50,000.01
        ("50000.01", "EUR", "en", "50,000.01 EUR"),
        ("0.001", "EUR", "en", "0.001 EUR"),  # never rounded away
        ("1234567", "JPY", "ja", "1,234,567円"),
        ("1234567", "JPY", "en", "1,234,567 JPY"),
        ("1000", "BHD", "en", "1,000.000 BHD"),
        ("0.25000001", "BTC", "en", "0.25000001 BTC"),
        ("10.000000000000000001", "ETH", "ja", "10.000000000000000001 ETH"),
    ],
)
def test_amounts_are_exact_grouped_and_show_the_minor_unit(value, currency, lang, text):
    assert render.amount_text(Decimal(value), currency, Language(lang)) == text


def test_the_language_is_the_query_then_the_session_then_the_browser_then_the_jurisdiction():
    def scope(query=b"", accept=None):
        headers = [(b"accept-language", accept.encode())] if accept else []
        return {"query_string": query, "headers": headers}

    assert render.choose(scope(b"lang=ja", "en"), "en", "EU") == "ja"
    assert render.choose(scope(b"lang=xx", "en"), "ja", "EU") == "ja"
    assert render.choose(scope(accept="fr, ja;q=0.8, en;q=0.5")) == "ja"
    assert render.choose(scope(accept="en;q=0.1, ja;q=0")) == "en"
    assert render.choose(scope(), None, "JP") == "ja"
    assert render.choose(scope(), None, "EU") == "en"
    assert render.safe_next("https://evil.example/") == "/web/"
    assert render.safe_next("//evil.example/web/") == "/web/"
    assert render.safe_next("/web/market") == "/web/market"


def contrast(a: str, b: str) -> float:
    """WCAG 2 contrast ratio of two #rrggbb colours (display arithmetic, not money)."""  # float-ok

    def luminance(colour: str) -> float:
        channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_text_colours_meet_wcag_aa_contrast():
    css = (TEMPLATES.parent / "static" / "caspr.css").read_text(encoding="utf-8")
    colours = dict(re.findall(r"--([a-z]+): (#[0-9a-f]{6})", css))
    for name in ("ink", "muted", "link", "breach", "projection", "warning", "ok"):
        assert contrast(colours[name], colours["paper"]) >= 4.5, name  # text on the page
    for name in ("breach", "projection", "warning", "muted"):
        assert contrast("#ffffff", colours[name]) >= 4.5, name  # white badge text
    assert contrast("#ffffff", "#ffffff") == 1.0
    assert round(contrast("#000000", "#ffffff"), 1) == 21.0
