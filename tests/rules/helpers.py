"""Small hand-made snapshots for worked examples, one per regime."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from caspr.assess import Report, assess
from caspr.snapshot.loader import load_snapshot


def exchange_yaml(
    jurisdiction: str, currency: str, licences: str, financials: str = "", market: str = "", extra: str = ""
) -> str:
    text = (
        f"id: ex-{jurisdiction.lower()}\nname: Example {jurisdiction}\njurisdiction: {jurisdiction}\n"
        f"licences: [{licences}]\nreporting_currency: {currency}\nas_of: 2026-09-30T00:00:00+00:00\n"
    )
    if financials:
        text += "financials:\n" + "".join(f"  {line}\n" for line in financials.split(";"))
    if market:
        text += f"market: {market}\n"
    return text + extra


def write(root: Path, files: dict[str, str]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (root / name).write_text(text, encoding="utf-8")
    return root


def btc_snapshot(
    root: Path,
    *,
    jurisdiction: str,
    currency: str,
    fiat_scale: int,
    price: str,
    hot: str,
    cold: str,
    custodian: str = "0",
    guarantee: str | None = None,
    liabilities: str | None = None,
    licences: str = "custody",
    financials: str = "",
    market: str = "",
    insurance: str = "policies: []\n",
    reserve: str = "deposits: []\n",
    volumes: str = "date,category,notional\n",
    fiat_owed: str = "0",
    fiat_trust: str = "0",
    exchange_extra: str = "",
    prices: str | None = None,
) -> Path:
    """One crypto asset (BTC) and one fiat; wallets as given; liabilities default to hot+cold+custodian."""
    from decimal import Decimal

    owed = liabilities or str(Decimal(hot) + Decimal(cold) + Decimal(custodian))
    wallets = (
        "wallet_id,asset,storage,owner,amount\n"
        f"btc-hot,BTC,hot,customer,{hot}\nbtc-cold,BTC,cold,customer,{cold}\n"
        f"btc-cust,BTC,custodian,customer,{custodian}\n"
        f"fiat-trust,{currency},fiat_trust,customer,{fiat_trust}\n"
    )
    if guarantee is not None:
        wallets += f"btc-guarantee,BTC,cold,guarantee,{guarantee}\n"
    files = {
        "exchange.yaml": exchange_yaml(jurisdiction, currency, licences, financials, market, exchange_extra),
        "assets.csv": f"asset,kind,scale,price\nBTC,crypto,8,{price}\n{currency},fiat,{fiat_scale},1\n",
        "balances.csv": f"account_id,asset,amount\nA1,BTC,{owed}\nA1,{currency},{fiat_owed}\n",
        "wallets.csv": wallets,
        "volumes.csv": volumes,
        "insurance.yaml": insurance,
        "reserve.yaml": reserve,
    }
    if prices is not None:
        files["prices.csv"] = prices
    return write(root, files)


def run(root: Path, regime: str, overrides: dict | None = None, as_of: dt.date | None = None) -> Report:
    return assess(load_snapshot(root), regime, as_of, overrides)
