"""The distribution plan: what an administrator decides, read from ``plan.yaml``.

With no plan the defaults are Japan's (research/distribution.md §5; PSA Art. 63-19-2):
claims are the customer balances at the snapshot's ``as_of`` (the record date); each
asset's pool is the customer-owned wallets of that asset plus the exchange's
performance-guarantee crypto; every claim is paid in kind, pro rata within its asset's
pool; accounts whose KYC is pending or failed, or that are frozen, are held.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, ValidationError

from caspr.errors import InputError, Problem
from caspr.yamltext import load_yaml

PERCENT_RULE = "every percentage in a plan is a percent string from 0% to 100%, with its sign: '72%', '4.5%'"


def _percent(value: Any) -> Decimal:
    """``'72%'`` → ``Decimal('0.72')``; anything else, or outside 0%–100%, is refused.

    One unit for every percentage of a plan (issue #15: ``cumulative_percent: "50"`` read as a
    fraction paid 50 times the claims). The sign is required so that a plan written as a
    fraction (``"0.72"``) or a bare number (``"50"``) is refused instead of read in the other unit.
    """
    text = value.strip() if isinstance(value, str) else None
    if text is None or not text.endswith("%"):
        msg = (
            f"{value!r} is not a percent string: write a percentage from 0% to 100% with its sign, e.g. '72%'"
        )
        raise ValueError(msg)
    try:
        fraction = Decimal(text[:-1].strip()) / 100
    except ArithmeticError as exc:
        msg = f"{value!r} is not a percentage"
        raise ValueError(msg) from exc
    if not fraction.is_finite() or not Decimal(0) <= fraction <= Decimal(1):
        msg = f"{value!r} is outside 0%-100%: no account is paid more than its claim"
        raise ValueError(msg)
    return fraction


def percent_text(fraction: Decimal) -> str:
    """``Decimal('0.72')`` → ``'72%'`` (how a plan writes it)."""
    text = format((fraction * 100).normalize(), "f")
    return f"{text}%"


Percent = Annotated[Decimal, BeforeValidator(_percent), PlainSerializer(percent_text, return_type=str)]
"""A percentage in a plan: written ``'72%'`` (0%–100%), held as the fraction 0.72."""


NonNegative = Annotated[Decimal, Field(ge=0, allow_inf_nan=False)]
"""An amount, a number of units or a price in a plan: finite and never negative (a negative
``cash_proceeds`` or ``pool_losses`` would take money from the customers it is meant to pay)."""


class Rounding(StrEnum):
    """How the units left after flooring are handled."""

    LARGEST_REMAINDER = "largest_remainder"
    FLOOR = "floor"


class Mode(StrEnum):
    """How claims are valued and paid."""

    IN_KIND = "in_kind"
    """Each asset's pool shared pro rata over that asset's claims (Japan 63-19-2, Voyager)."""
    FIAT = "fiat"
    """Claims valued in fiat at reference prices; paid by rounds (Mt. Gox, FTX, Celsius)."""


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Holds(_Model):
    """Who is not paid now, and why (their share is reserved, not redistributed)."""

    kyc: tuple[str, ...] = ("pending", "failed")
    status: tuple[str, ...] = ("frozen",)
    accounts: dict[str, str] = Field(default_factory=dict)
    """Account id → reason (sanctions, restricted jurisdiction, court order, ...)."""


class BasePayment(_Model):
    """Mt. Gox: the first part of every claim, up to a cap, paid in fiat, fiat claims first."""

    cap: Decimal = Field(gt=0)


class EarlyLumpSum(_Model):
    """Mt. Gox ELSR: a fixed share of the claim left after the base payment; waives the rest."""

    percent: Percent
    accounts: tuple[str, ...] = ()


class Convenience(_Model):
    """FTX/Celsius: claims up to a cap paid once at a fixed percentage, out of later rounds."""

    cap: Decimal = Field(gt=0)
    percent: Percent


class Round(_Model):
    """A distribution round: cumulative percentage of (remaining) claims paid by its date."""

    id: str
    date: dt.date
    cumulative_percent: Percent
    by_class: dict[str, Percent] = Field(default_factory=dict)
    """Cumulative percentage per claim class (FTX: Dotcom 72%, US 54%); others use ``cumulative_percent``."""
    release_disputed: tuple[str, ...] = ()
    """Disputed accounts allowed by this round: their reserve is paid out."""


class Unclaimed(_Model):
    """Payouts not collected by the deadline are forfeited and shared among the others."""

    deadline: dt.date
    accounts: tuple[str, ...] = ()


class Plan(_Model):
    """An administrator's distribution plan (every field optional: Japan's defaults)."""

    mode: Mode = Mode.IN_KIND
    record_date: dt.date | None = None
    include_guarantee: bool = True
    pool_additions: dict[str, NonNegative] = Field(default_factory=dict)
    """Extra units per asset added to the pools (e.g. reserve or insurance proceeds bought in kind)."""
    pool_losses: dict[str, NonNegative] = Field(default_factory=dict)
    """Units per asset known to be missing from the wallets (e.g. stolen before the failure)."""
    cash_proceeds: NonNegative = Decimal(0)
    """Reserve or insurance money (reporting currency) paid in cash pro rata to each account's shortfall."""
    holds: Holds = Holds()
    disputed: dict[str, str] = Field(default_factory=dict)
    de_minimis: NonNegative = Decimal(0)
    """Entitlements worth less than this (reporting currency) are not paid and return to the pool."""
    rounding: Rounding = Rounding.LARGEST_REMAINDER
    successor: str | None = None
    """The platform that delivers the payouts (FTX Japan → Liquid Japan; DMM → SBI VC Trade)."""
    claim_prices: dict[str, NonNegative] = Field(default_factory=dict)
    """Fiat mode: claim valuation price per asset at the reference date."""
    payout_prices: dict[str, NonNegative] = Field(default_factory=dict)
    """Fiat mode: price at which a payout in crypto is converted (distribution reference price)."""
    payout_asset: str | None = None
    """Fiat mode: pay in this crypto-asset at its payout price instead of fiat."""
    estate: NonNegative = Decimal(0)
    """Fiat mode: the money available for all rounds (reporting currency)."""
    base_payment: BasePayment | None = None
    early_lump_sum: EarlyLumpSum | None = None
    convenience: Convenience | None = None
    rounds: tuple[Round, ...] = ()
    classes: dict[str, str] = Field(default_factory=dict)
    """Fiat mode: account id → claim class (for class percentages); default class ``general``."""
    unclaimed: Unclaimed | None = None


def load_plan(path: Path | None) -> Plan:
    """The plan at ``path`` (Japan's defaults when None).

    Raises:
        InputError: the file does not parse or does not match the plan schema.
    """
    if path is None:
        return Plan()
    try:
        raw = load_yaml(path)
        return Plan.model_validate(raw or {})
    except ValidationError as exc:
        raise InputError(
            [Problem(str(path), None, ".".join(str(p) for p in e["loc"]), e["msg"]) for e in exc.errors()]
        ) from exc
    except (OSError, ValueError) as exc:
        raise InputError([Problem(str(path), None, None, f"cannot be read: {exc}")]) from exc
