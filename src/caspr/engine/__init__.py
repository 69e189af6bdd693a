"""The analytics engine: snapshot aggregates as Ibis expressions (DuckDB by default).

Every aggregate is an Ibis expression over the snapshot's tables, executed by the
backend (DuckDB in process by default; any Ibis backend, e.g. PySpark, can be passed
in). Sums are exact DECIMAL(38, 18); valuations into the reporting currency happen
afterwards in Python ``Decimal`` on the (small) per-asset results, so no amount ever
passes through a float and no engine needs DECIMAL precision beyond 38.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import ibis
import numpy as np
import pyarrow.compute as pc

from caspr.money import AssetKind, total_of
from caspr.snapshot.loader import Snapshot, TableFile, csv_header
from caspr.snapshot.schema import ACCOUNTS, BALANCES, PRICES, VOLUMES, WALLETS, ColumnType, TableSpec

AMOUNT_TYPE = "DECIMAL(38, 18)"
_SQL_TYPES = {
    ColumnType.TEXT: "VARCHAR",
    ColumnType.ENUM: "VARCHAR",
    ColumnType.AMOUNT: AMOUNT_TYPE,
    ColumnType.PRICE: AMOUNT_TYPE,
    ColumnType.SCALE: "INTEGER",
    ColumnType.DATE: "DATE",
}
_SPECS = {spec.name: spec for spec in (BALANCES, ACCOUNTS, WALLETS, VOLUMES, PRICES)}


@dataclass(frozen=True, slots=True)
class Liability:
    """What the exchange owes its customers in one asset."""

    asset: str
    amount: Decimal
    accounts: int


@dataclass(frozen=True, slots=True)
class Holding:
    """What the wallets of one asset, storage and owner hold."""

    asset: str
    storage: str
    owner: str
    amount: Decimal
    wallets: int


@dataclass(frozen=True, slots=True)
class AssetExposure:
    """One asset's liabilities and holdings, in units and in the reporting currency."""

    asset: str
    kind: AssetKind
    price: Decimal
    liabilities: Decimal
    customer_hot: Decimal
    customer_cold: Decimal
    customer_custodian: Decimal
    customer_fiat: Decimal
    """Customer money, wherever held (in trust and in plain bank accounts)."""
    guarantee: Decimal
    """The exchange's own crypto set apart as a performance guarantee, wherever held."""
    company: Decimal
    customer_fiat_trust: Decimal = Decimal(0)
    """The part of ``customer_fiat`` held in trust (storage ``fiat_trust``, PSA 63-11(1))."""
    guarantee_hot: Decimal = Decimal(0)
    """The part of ``guarantee`` held in hot wallets (not the safe method of PSA 63-11-2)."""

    @property
    def customer_held(self) -> Decimal:
        """Everything held in customer-owned wallets of this asset."""
        return self.customer_hot + self.customer_cold + self.customer_custodian + self.customer_fiat

    @property
    def liabilities_value(self) -> Decimal:
        """Liabilities valued at the snapshot price (exact; round at the point of use)."""
        return self.liabilities * self.price

    @property
    def hot_value(self) -> Decimal:
        """Customer assets held hot, valued at the snapshot price."""
        return self.customer_hot * self.price


@dataclass(frozen=True, slots=True)
class Exposure:
    """Per-asset exposure of an exchange at ``as_of``, in its reporting currency."""

    currency: str
    assets: tuple[AssetExposure, ...]

    def crypto(self) -> tuple[AssetExposure, ...]:
        """Crypto-assets and stablecoins (not fiat)."""
        return tuple(a for a in self.assets if a.kind is not AssetKind.FIAT)

    def total(self, field: str, crypto_only: bool = True) -> Decimal:
        """Sum of ``field`` valued at price, e.g. ``total("customer_hot")``."""
        rows = self.crypto() if crypto_only else self.assets
        return total_of([getattr(a, field) * a.price for a in rows])


def _register(con: Any, file: TableFile) -> Any:
    spec: TableSpec = _SPECS[file.name]
    if file.format == "csv":
        header = csv_header(file.path)
        columns = {c.name: _SQL_TYPES[c.type] for c in spec.columns if c.name in header}
        return con.read_csv(
            str(file.path), table_name=file.name, columns=columns, header=True, quote='"', escape='"'
        )
    table = con.read_parquet(str(file.path), table_name=file.name)
    casts = {c.name: _SQL_TYPES[c.type] for c in spec.columns if c.name in table.columns}
    return table.mutate(**{name: table[name].cast(kind) for name, kind in casts.items()})


class Engine:
    """Aggregates over one snapshot. Build once; each method runs one query."""

    def __init__(self, snapshot: Snapshot, backend: Any | None = None) -> None:
        self.snapshot = snapshot
        self.con = backend if backend is not None else ibis.duckdb.connect()
        self.tables = {
            name: _register(self.con, file) for name, file in snapshot.tables.items() if name in _SPECS
        }

    def table(self, name: str) -> Any:
        """The Ibis table expression for snapshot table ``name``."""
        return self.tables[name]

    def liabilities(self) -> dict[str, Liability]:
        """Customer liabilities per asset: Σ balances, and how many accounts hold it."""
        b = self.tables["balances"]
        expr = b.group_by("asset").aggregate(amount=b.amount.sum(), accounts=b.count()).order_by("asset")
        return {
            r["asset"]: Liability(r["asset"], r["amount"], r["accounts"])
            for r in expr.to_pyarrow().to_pylist()
        }

    def holdings(self) -> list[Holding]:
        """Wallet holdings per asset × storage × owner."""
        w = self.tables["wallets"]
        expr = (
            w.group_by(["asset", "storage", "owner"])
            .aggregate(amount=w.amount.sum(), wallets=w.count())
            .order_by(["asset", "storage", "owner"])
        )
        return [Holding(**r) for r in expr.to_pyarrow().to_pylist()]

    def volumes(self, start: dt.date, end: dt.date) -> dict[str, Decimal]:
        """Traded notional per category over ``start`` ≤ date ≤ ``end`` (reporting currency)."""
        if "volumes" not in self.tables:
            return {}
        v = self.tables["volumes"]
        expr = (
            v.filter((v.date >= start) & (v.date <= end))
            .group_by("category")
            .aggregate(notional=v.notional.sum())
            .order_by("category")
        )
        return {r["category"]: r["notional"] for r in expr.to_pyarrow().to_pylist()}

    def trailing_volumes(self, days: int = 365) -> dict[str, Decimal]:
        """Volumes over the ``days`` days up to and including the day before ``as_of``."""
        end = self.snapshot.exchange.as_of_date - dt.timedelta(days=1)
        return self.volumes(end - dt.timedelta(days=days - 1), end)

    def price_history(self, start: dt.date, end: dt.date) -> dict[str, tuple[Decimal, int]]:
        """Per asset over ``start`` ≤ date ≤ ``end``: mean daily price (Σ price ÷ days) and days priced.

        The division happens in Python Decimal at 60 significant digits, not in the engine.
        (date, asset) is the table's key, so the count is the number of distinct days.
        """
        if "prices" not in self.tables:
            return {}
        p = self.tables["prices"]
        window = p.filter((p.date >= start) & (p.date <= end))
        expr = (
            window.group_by("asset")
            .aggregate(total=window.price.sum(), days=window.count())
            .order_by("asset")
        )
        return {r["asset"]: (r["total"] / r["days"], r["days"]) for r in expr.to_pyarrow().to_pylist()}

    def average_prices(self, start: dt.date, end: dt.date) -> dict[str, Decimal]:
        """Mean daily price per asset over ``start`` ≤ date ≤ ``end`` (see :meth:`price_history`)."""
        return {asset: mean for asset, (mean, _) in self.price_history(start, end).items()}

    def holdings_by_slot(self) -> dict[str, dict[str, Decimal]]:
        """Wallet holdings per asset and exposure bucket (customer_hot, ..., guarantee, company).

        Two buckets are also counted inside a wider one: ``in_trust`` (within
        ``customer_fiat``) and ``guarantee_hot`` (within ``guarantee``); neither starts
        with ``customer_``, so sums over customer buckets count each wallet once.
        """
        by_asset: dict[str, dict[str, Decimal]] = {}
        for h in self.holdings():
            slot = by_asset.setdefault(h.asset, {})
            for key in _slots(h.storage, h.owner):
                slot[key] = slot.get(key, Decimal(0)) + h.amount
        return by_asset

    def customer_holdings(self) -> dict[str, Decimal]:
        """Everything held in customer-owned wallets, per asset (zero where none)."""
        by_asset = self.holdings_by_slot()
        return {
            code: sum(
                (v for k, v in by_asset.get(code, {}).items() if k.startswith("customer_")), start=Decimal(0)
            )
            for code in self.snapshot.assets
        }

    def exposure(self) -> Exposure:
        """Liabilities and holdings of every asset, with its price."""
        liabilities = self.liabilities()
        by_asset = self.holdings_by_slot()
        rows = []
        for code, asset in self.snapshot.assets.items():
            held = by_asset.get(code, {})
            zero = Decimal(0)
            rows.append(
                AssetExposure(
                    asset=code,
                    kind=asset.kind,
                    price=asset.price,
                    liabilities=liabilities[code].amount if code in liabilities else zero,
                    customer_hot=held.get("customer_hot", zero),
                    customer_cold=held.get("customer_cold", zero),
                    customer_custodian=held.get("customer_custodian", zero),
                    customer_fiat=held.get("customer_fiat", zero),
                    guarantee=held.get("guarantee", zero),
                    company=held.get("company", zero),
                    customer_fiat_trust=held.get("in_trust", zero),
                    guarantee_hot=held.get("guarantee_hot", zero),
                )
            )
        return Exposure(self.snapshot.exchange.reporting_currency.value, tuple(rows))


def rows_by_asset(assets: Any) -> dict[str, Any]:
    """Row indices of each asset in an Arrow string array, in row order.

    One dictionary encoding and one stable sort, instead of one string comparison per asset.
    """
    encoded = pc.dictionary_encode(assets)
    codes = encoded.indices.to_numpy(zero_copy_only=False)
    if len(encoded.dictionary) <= np.iinfo(np.int16).max:
        codes = codes.astype(np.int16)  # NumPy's stable sort is a radix sort for 16-bit keys
    order = np.argsort(codes, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(np.bincount(codes, minlength=len(encoded.dictionary)))])
    return {
        str(name): order[bounds[i] : bounds[i + 1]] for i, name in enumerate(encoded.dictionary.to_pylist())
    }


def _slot(storage: str, owner: str) -> str:
    """Which exposure bucket a wallet's (storage, owner) falls in.

    Customer money in a trust (``fiat_trust``) and in a plain ``bank`` account are both
    customer money; only the first is 信託 under PSA 63-11(1) (see :func:`_slots`).
    """
    if owner != "customer":
        return owner
    if storage in ("fiat_trust", "bank"):
        return "customer_fiat"
    return f"customer_{storage}"


def _slots(storage: str, owner: str) -> tuple[str, ...]:
    """The bucket of :func:`_slot`, plus the narrower one it also counts in.

    * customer money in ``fiat_trust`` also counts as ``in_trust``; a ``bank``
      account does not: PSA 63-11(1) and Ordinance Art. 26 require a trust with a trust
      company or bank (利用者区分管理信託), which a deposit account is not;
    * guarantee crypto in a ``hot`` wallet also counts as ``guarantee_hot``: PSA 63-11-2
      requires 履行保証暗号資産 to be managed by the Ordinance's safe method, which a hot
      wallet is not.
    """
    slot = _slot(storage, owner)
    if slot == "customer_fiat" and storage == "fiat_trust":
        return (slot, "in_trust")
    if owner == "guarantee" and storage == "hot":
        return (slot, "guarantee_hot")
    return (slot,)
