"""The incident library: 51 sourced losses, 2014-2025 (research/incidents.csv and incidents.md).

Shipped with the package (``calibration/data/incidents.csv``, a copy of the research file)
with two companion tables: observed loss shares of custody (incidents.md §4) and custody
sizes where a source gives one (incidents.md §5). Amounts are read as exact decimals.
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from importlib import resources

EXCLUDED_FROM_CUSTODY_FIT = {
    "bsc-token-hub-2022": "tokens were minted; no customer balance was lost",
    "heco-bridge-2023": "a bridge",
    "mixin-2023": "a transfer network",
    "sbi-crypto-2025": "a mining pool",
    "swissborg-2025": "a third-party staking API",
    "coinbase-2025": "a data leak followed by social engineering",
    "ftx-japan-2022": "no theft; documents the return of segregated assets",
}
"""incidents.md §1: rows that are not exchange custody losses, dropped before fitting."""

USD_JPY = Decimal(150)
"""Flat conversion for USD-only rows when a JPY value is needed (an assumption, stated in outputs)."""


@dataclass(frozen=True, slots=True)
class IncidentRecord:
    """One row of the library."""

    id: str
    date: dt.date
    exchange: str
    jurisdiction: str
    kind: str
    storage: str
    loss_usd: Decimal | None
    loss_jpy: Decimal | None
    compensated: str
    days_to_compensation: int | None
    source_url: str
    excluded: str | None
    """Why the row is left out of custody-loss fitting (None: included)."""

    @property
    def loss_in_jpy(self) -> Decimal | None:
        """The JPY loss as reported, else the USD loss at :data:`USD_JPY`."""
        if self.loss_jpy is not None:
            return self.loss_jpy
        return self.loss_usd * USD_JPY if self.loss_usd is not None else None

    def to_dict(self) -> dict[str, str | None]:
        """JSON/CSV-ready."""
        return {
            "id": self.id,
            "date": self.date.isoformat(),
            "exchange": self.exchange,
            "jurisdiction": self.jurisdiction,
            "kind": self.kind,
            "storage": self.storage,
            "loss_usd": f"{self.loss_usd:f}" if self.loss_usd is not None else None,
            "loss_jpy": f"{self.loss_jpy:f}" if self.loss_jpy is not None else None,
            "compensated": self.compensated,
            "days_to_compensation": str(self.days_to_compensation)
            if self.days_to_compensation is not None
            else None,
            "excluded_from_custody_fit": self.excluded,
            "source": self.source_url,
        }


def _rows(name: str) -> list[dict[str, str]]:
    text = resources.files("caspr.calibration").joinpath("data", name).read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


def _decimal(text: str) -> Decimal | None:
    return Decimal(text) if text.strip() else None


@cache
def library() -> tuple[IncidentRecord, ...]:
    """Every incident, in file order."""
    out = []
    for row in _rows("incidents.csv"):
        days = row["days_to_compensation"].strip()
        out.append(
            IncidentRecord(
                id=row["id"],
                date=dt.date.fromisoformat(row["date"]),
                exchange=row["exchange"],
                jurisdiction=row["jurisdiction"],
                kind=row["kind"],
                storage=row["storage"],
                loss_usd=_decimal(row["loss_usd"]),
                loss_jpy=_decimal(row["loss_jpy"]),
                compensated=row["compensated"],
                days_to_compensation=int(days) if days else None,
                source_url=row["source_url"].split(" | ")[0],
                excluded=EXCLUDED_FROM_CUSTODY_FIT.get(row["id"]),
            )
        )
    return tuple(out)


@cache
def loss_shares() -> dict[str, tuple[Decimal, str]]:
    """Observed losses as a share of custody (incidents.md §4): id → (share, basis)."""
    return {r["id"]: (Decimal(r["share"]), r["basis"]) for r in _rows("severity_shares.csv")}


@cache
def custody_points() -> dict[str, tuple[Decimal, str]]:
    """Custody sizes a source gives (incidents.md §5): id → (JPY, basis)."""
    return {r["id"]: (Decimal(r["custody_jpy"]), r["basis"]) for r in _rows("custody_points.csv")}


def select(
    jurisdiction: str | None = None,
    kind: str | None = None,
    custody_only: bool = False,
    since: dt.date | None = None,
) -> list[IncidentRecord]:
    """Filter the library."""
    rows = library()
    return [
        r
        for r in rows
        if (jurisdiction is None or r.jurisdiction == jurisdiction)
        and (kind is None or r.kind == kind)
        and (not custody_only or r.excluded is None)
        and (since is None or r.date >= since)
    ]
