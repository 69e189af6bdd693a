"""A served dashboard with data: two exchanges, two snapshots of one, a distribution, keys per role.

Numbers the pages must show (computed by hand from tests/conftest.py's tiny snapshot):

* jp-crypto-reserve: requirement max(floor ¥50,000,000, 492,503.9015… computed) = ¥50,000,000;
  funding = deposit ¥500,000 + insurance min(1,000,000 − 10,000, 0.5 × 50,000,000) = ¥1,490,000;
  coverage 1,490,000 / 50,000,000 = 2.98%. The second snapshot of tiny-jp (2026-10-31) has a
  ¥2,000,000 deposit: funding ¥2,990,000, coverage 5.98%.
* The in-kind distribution pays every claim in full (each pool covers its claims): A1 1.5 BTC
  and ¥100,000; A2 0.25000001 BTC and 10 ETH; A3 is held (KYC pending, frozen): 4 payouts.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import httpx
import pytest

from caspr.api.app import create_app
from tests.api.conftest import make_key, running, settings
from tests.browser import chromium  # noqa: F401 - the shared browser fixture
from tests.conftest import EXCHANGE, write_snapshot

ARTIFACTS = Path(os.environ.get("CASPR_TEST_ARTIFACTS", Path(__file__).parents[2] / "test-artifacts")) / "web"

LATER = EXCHANGE.replace("as_of: 2026-09-30T15:00:00+00:00", "as_of: 2026-10-31T15:00:00+00:00")
RICHER = """\
deposits:
  - id: d1
    form: cash_trust
    amount: "2000000"
    currency: JPY
    held_at: Example Trust
    on_trust: true
"""
OTHER = EXCHANGE.replace("id: tiny-jp", "id: other-ex").replace("Tiny Japanese exchange", "Other exchange")


def _call(client: httpx.Client, method: str, path: str, key: str, idem: str | None = None, **kw):
    headers = {"Authorization": f"Bearer {key}"}
    if idem:
        headers["Idempotency-Key"] = idem
    response = client.request(method, path, headers=headers, **kw)
    assert response.status_code < 300, response.text
    return response.json()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """(base URL, keys by name, database URL, data) for a running server with the data above."""
    tmp = tmp_path_factory.mktemp("site")
    url = f"sqlite:///{tmp / 'caspr.sqlite'}"
    app = create_app(url, settings(tmp))
    with running(app) as base:
        yield from _populate(base, url, tmp)


def _populate(base, url, tmp):
    keys = {
        "exchange": make_key(url, "exchange", "tiny-jp"),
        "other": make_key(url, "exchange", "other-ex"),
        "regulator": make_key(url, "regulator"),
        "administrator": make_key(url, "administrator", "tiny-jp"),
        "A1": make_key(url, "customer", "tiny-jp", "A1"),
        "A2": make_key(url, "customer", "tiny-jp", "A2"),
    }
    first = write_snapshot(tmp / "tiny-jp" / "sep")
    second = write_snapshot(tmp / "tiny-jp" / "oct", exchange_yaml=LATER, reserve_yaml=RICHER)
    other = write_snapshot(tmp / "other-ex" / "sep", exchange_yaml=OTHER)
    data: dict[str, object] = {}
    with httpx.Client(base_url=base, timeout=60) as client:
        for name, folder, key in (("sep", first, "exchange"), ("oct", second, "exchange"), ("other", other, "other")):
            snap = _call(client, "POST", "/api/v1/snapshots", keys[key], f"reg-{name}", json={"path": str(folder)})
            _call(client, "POST", f"/api/v1/snapshots/{snap['id']}/assessments", keys[key], f"as-{name}")
            data[name] = snap["id"]
        job = _call(
            client, "POST", f"/api/v1/snapshots/{data['oct']}/distributions", keys["administrator"], "dist", json={}
        )
        for _ in range(400):
            state = _call(client, "GET", f"/api/v1/jobs/{job['job_id']}", keys["administrator"])
            if state["status"] != "running":
                break
            time.sleep(0.05)
        assert state["status"] == "done", state
        data["job"] = job["job_id"]
        data["payouts"] = {who: _call(client, "GET", "/api/v1/payouts", keys[who]) for who in ("A1", "A2")}
    yield base, keys, url, data


def shot(driver, name: str) -> Path:
    """Save a screenshot of the page as a test artifact (test-artifacts/web/NAME.png)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    driver.save_screenshot(str(path))
    return path
