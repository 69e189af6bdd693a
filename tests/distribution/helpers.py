"""Hand-made snapshots for distribution fixtures."""

from __future__ import annotations

from pathlib import Path

from tests.rules.helpers import exchange_yaml, write


def snapshot(
    root: Path,
    balances: str,
    wallets: str,
    *,
    currency: str = "JPY",
    assets: str | None = None,
    accounts: str | None = None,
) -> Path:
    files = {
        "exchange.yaml": exchange_yaml("JP", currency, "custody"),
        "assets.csv": assets
        or f"asset,kind,scale,price\nBTC,crypto,8,15000000\nBCH,crypto,8,97481.19\n"
        f"{currency},fiat,{0 if currency == 'JPY' else 2},1\n",
        "balances.csv": "account_id,asset,amount\n" + balances,
        "wallets.csv": "wallet_id,asset,storage,owner,amount\n" + wallets,
        "volumes.csv": "date,category,notional\n",
    }
    if accounts is not None:
        files["accounts.csv"] = "account_id,kyc,status\n" + accounts
    return write(root, files)
