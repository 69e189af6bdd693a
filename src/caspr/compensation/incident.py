"""The incident file: what flowed out, and how the exchange compensates (``--incident FILE``).

Precedents (research/distribution.md §6; incidents.csv):

* ``make_whole_in_kind`` — DMM Bitcoin 2024, Bybit 2025, Binance 2019: the exchange
  procures the lost crypto; customers' balances are kept 1:1.
* ``cash`` — Coincheck 2018: affected holders paid in yen at a fixed price (¥88.549 per
  XEM, a volume-weighted average over a window on a named venue).
* ``haircut`` — Bitfinex 2016: the loss is socialised across all accounts and assets
  (36.067%) and each customer receives an IOU for the value of their own loss.

Losses are valued at market value at the time of loss (MiCA Art. 75(8)) unless the
policy names a price.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from caspr.errors import InputError, Problem
from caspr.yamltext import load_yaml


class Kind(StrEnum):
    """What happened (incidents.csv ``kind``)."""

    HOT_WALLET_HACK = "hot_wallet_hack"
    COLD_WALLET_HACK = "cold_wallet_hack"
    MULTISIG_UI_COMPROMISE = "multisig_ui_compromise"
    THIRD_PARTY_VENDOR = "third_party_vendor"
    INSIDER = "insider"
    OTHER = "other"


class Policy(StrEnum):
    """How customers are compensated."""

    MAKE_WHOLE_IN_KIND = "make_whole_in_kind"
    CASH = "cash"
    HAIRCUT = "haircut"


class Scope(StrEnum):
    """Who bears or is compensated for the loss."""

    AFFECTED_ONLY = "affected_only"
    """Holders of the lost assets, pro rata to their balances of those assets."""
    ALL_CUSTOMERS = "all_customers"
    """Every account and asset, pro rata to value (Bitfinex)."""


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Outflow(_Model):
    """Units of one asset that left one wallet."""

    wallet: str
    asset: str
    amount: Decimal = Field(gt=0)


class Trade(_Model):
    """One trade of a VWAP window."""

    price: Decimal = Field(gt=0)
    volume: Decimal = Field(gt=0)


class Price(_Model):
    """The compensation price per lost asset: fixed, a VWAP, or the market at loss."""

    fixed: Decimal | None = Field(default=None, gt=0)
    vwap: tuple[Trade, ...] = ()

    def value(self, market: Decimal) -> tuple[Decimal, str]:
        """The price and how it was set."""
        if self.fixed is not None:
            return self.fixed, "fixed price"
        if self.vwap:
            volume = sum((t.volume for t in self.vwap), Decimal(0))
            return sum(
                (t.price * t.volume for t in self.vwap), Decimal(0)
            ) / volume, "volume-weighted average"
        return market, "market value at the time of loss (MiCA Art. 75(8))"


class Loan(_Model):
    """External funding after the exchange's own capital (Bybit bridge loans, DMM group loans)."""

    lender: str
    amount: Decimal = Field(gt=0)


class Funding(_Model):
    """The waterfall's sources, in order: reserve, insurance, company capital, loans."""

    reserve: bool = True
    insurance: tuple[str, ...] | None = None
    """Policy ids in the order they are claimed; None means every policy in file order."""
    company_capital: Decimal | None = None
    """Capital available for compensation; None means ``financials.own_funds``."""
    loans: tuple[Loan, ...] = ()


class Compensation(_Model):
    """The policy chosen by the exchange."""

    policy: Policy = Policy.MAKE_WHOLE_IN_KIND
    scope: Scope = Scope.AFFECTED_ONLY
    prices: dict[str, Price] = Field(default_factory=dict)
    haircut: Decimal | None = Field(default=None, gt=0, lt=1)
    """Haircut ratio when the policy fixes it (Bitfinex 0.36067); else loss ÷ customer assets."""
    funding: Funding = Funding()


class Incident(_Model):
    """The incident file."""

    id: str
    detected_at: dt.datetime
    kind: Kind
    outflows: tuple[Outflow, ...] = Field(min_length=1)
    compensation: Compensation = Compensation()

    @field_validator("detected_at")
    @classmethod
    def _aware(cls, value: dt.datetime) -> dt.datetime:
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def load_incident(path: Path) -> Incident:
    """Read and check an incident file.

    Raises:
        InputError: naming the file and the key of every problem.
    """
    try:
        return Incident.model_validate(load_yaml(path) or {})
    except ValidationError as exc:
        raise InputError(
            [Problem(path.name, None, ".".join(str(p) for p in e["loc"]), e["msg"]) for e in exc.errors()]
        ) from exc
    except (OSError, ValueError) as exc:
        raise InputError([Problem(path.name, None, None, f"cannot be read: {exc}")]) from exc
