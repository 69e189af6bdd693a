"""Currencies: ISO 4217 minor units, and exchange rates that the snapshot supplies.

Every regime rounds a money amount to its currency's **minor unit** as ISO 4217 lists it
(cents for EUR, HKD, USD; none for JPY, KRW; three places for BHD): a requirement up,
a credit down (DESIGN.md, "Conservative rounding, stated"). One quarter of €200,000.04
of fixed overheads is €50,000.01, not €50,001.

Source: ISO 4217, "List one: currency, fund and precious metal codes", column "Minor
unit", as published by the maintenance agency (SIX Group),
https://www.six-group.com/en/products-services/financial-information/data-standards.html

caspr never invents an exchange rate: an :class:`FxRate` comes from the snapshot
(``exchange.yaml``, ``fx_rates``) with its date and source, and every converted figure
shows the rate it used.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

MINOR_UNITS: dict[str, int] = {
    # ISO 4217 list one, "Minor unit" column (the currencies caspr's snapshots use)
    "AED": 2,
    "AUD": 2,
    "BGN": 2,
    "BHD": 3,
    "CAD": 2,
    "CHF": 2,
    "CNY": 2,
    "CZK": 2,
    "DKK": 2,
    "EUR": 2,
    "GBP": 2,
    "HKD": 2,
    "HUF": 2,
    "ISK": 0,
    "JPY": 0,
    "KRW": 0,
    "NOK": 2,
    "PLN": 2,
    "RON": 2,
    "SEK": 2,
    "SGD": 2,
    "TWD": 2,
    "USD": 2,
}
"""Decimal places of each currency's minor unit (ISO 4217)."""


def minor_unit(currency: str) -> int:
    """The number of decimal places of ``currency``'s minor unit (ISO 4217).

    Raises:
        KeyError: a currency the table does not list (never guessed).
    """
    try:
        return MINOR_UNITS[currency]
    except KeyError:
        msg = f"{currency}: not in caspr's ISO 4217 minor-unit table"
        raise KeyError(msg) from None


@dataclass(frozen=True, slots=True)
class FxRate:
    """One unit of ``base`` is worth ``rate`` units of ``quote``, as published on ``date`` by ``source``."""

    base: str
    quote: str
    rate: Decimal
    date: dt.date
    source: str

    def label(self) -> str:
        """How a converted figure names the rate it used, e.g. ``1 EUR = 4.2675 PLN (ECB, 2026-09-29)``."""
        return f"1 {self.base} = {self.rate:f} {self.quote} ({self.source}, {self.date.isoformat()})"


def find_rate(rates: tuple[FxRate, ...], base: str, quote: str) -> FxRate | None:
    """The supplied rate from ``base`` to ``quote`` (None when the snapshot gave none).

    Only a rate quoted in that direction is used; caspr does not invert or chain rates,
    which would change the published figure.
    """
    for rate in rates:
        if rate.base == base and rate.quote == quote:
            return rate
    return None
