"""Shared fixtures: a small hand-made snapshot whose sums are easy to check by hand."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import settings

# Properties check results, not speed: on a loaded 2-core machine a 200 ms per-example
# deadline fails correct code at random (seen under mutation testing), so none is set.
settings.register_profile("caspr", deadline=None)
settings.load_profile("caspr")

EXCHANGE = """\
id: tiny-jp
name: Tiny Japanese exchange
jurisdiction: JP
licences: [custody, exchange_for_funds]
reporting_currency: JPY
as_of: 2026-09-30T15:00:00+00:00
financials:
  fixed_overheads_prev_year: "400000000"
  own_funds: "900000000"
"""

FILES = {
    "exchange.yaml": EXCHANGE,
    "assets.csv": "asset,kind,scale,price\nBTC,crypto,8,15000000\nETH,crypto,18,500000\nJPY,fiat,0,1\n",
    "balances.csv": (
        "account_id,asset,amount\n"
        "A1,BTC,1.5\n"
        "A1,JPY,100000\n"
        "A2,BTC,0.25000001\n"
        "A2,ETH,10\n"
        "A3,ETH,0.000000000000000001\n"
        "A3,JPY,5\n"
    ),
    "accounts.csv": "account_id,kyc,status\nA1,verified,active\nA2,verified,active\nA3,pending,frozen\n",
    "wallets.csv": (
        "wallet_id,asset,storage,owner,amount\n"
        "btc-hot,BTC,hot,customer,0.05\n"
        "btc-cold,BTC,cold,customer,1.70000001\n"
        "btc-guar,BTC,cold,guarantee,0.05\n"
        "eth-cold,ETH,cold,customer,10.000000000000000001\n"
        "jpy-trust,JPY,fiat_trust,customer,100005\n"
        "btc-own,BTC,hot,company,2\n"
    ),
    "volumes.csv": (
        "date,category,notional\n"
        "2025-09-29,spot,1000\n"  # one day before the trailing window
        "2025-09-30,spot,2000\n"
        "2026-09-29,spot,3000\n"
        "2026-09-29,margin,7000\n"
        "2026-09-30,spot,4000\n"  # as_of day itself: outside the trailing window
    ),
    "insurance.yaml": """\
policies:
  - id: p1
    insurer: Example Marine
    rating: A
    limit: "1000000"
    retention: "10000"
    basis: aggregate
    covers: [hot]
    starts: 2026-01-01
    expires: 2027-01-01
    currency: JPY
    insurer_affiliated: false
""",
    "reserve.yaml": """\
deposits:
  - id: d1
    form: cash_trust
    amount: "500000"
    currency: JPY
    held_at: Example Trust
    on_trust: true
""",
}


def write_snapshot(root: Path, **replace: str | None) -> Path:
    """Write the tiny snapshot to ``root``; ``replace`` swaps (or, with None, drops) files.

    Keyword names use ``_`` for ``.``: ``balances_csv="..."``.
    """
    root.mkdir(parents=True, exist_ok=True)
    files = dict(FILES)
    for key, text in replace.items():
        name = key.replace("_csv", ".csv").replace("_yaml", ".yaml")
        if text is None:
            files.pop(name, None)
        else:
            files[name] = text
    for name, text in files.items():
        (root / name).write_text(text, encoding="utf-8")
    return root


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    """The tiny snapshot in a fresh folder."""
    return write_snapshot(tmp_path / "tiny")
