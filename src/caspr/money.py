"""Exact money: assets with a ledger scale, amounts, prices and explicit rounding.

Every amount, price and rate in caspr is a :class:`decimal.Decimal`. Binary floats are
trapped (``decimal.FloatOperation``) in every thread's context, so ``Decimal(0.1)`` or
``Decimal("1") < 0.5`` raises instead of silently losing precision.

Rounding is always explicit and follows DESIGN.md "Conservative rounding, stated":

* a **requirement** rounds up (:func:`round_requirement`),
* a **credit** (reserve counted, insurance counted) rounds down (:func:`round_credit`),
* a **distribution** floors every share and hands the remainder out one minimal unit
  at a time by largest fractional remainder, ties broken by key
  (:func:`allocate_largest_remainder`).
"""

from __future__ import annotations

import decimal
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from enum import StrEnum

from caspr.currency import minor_unit

MAX_SCALE = 18
"""The finest ledger scale caspr accepts (wei-like assets have 18 decimal places)."""

PRECISION = 60
"""Significant digits for intermediate arithmetic: 38-digit amounts times prices fit."""


def _harden(context: decimal.Context) -> None:
    context.prec = PRECISION
    context.traps[decimal.FloatOperation] = True
    context.traps[decimal.InvalidOperation] = True
    context.traps[decimal.DivisionByZero] = True


def install_context() -> None:
    """Trap floats and set the working precision, in this thread and for new threads."""
    _harden(decimal.DefaultContext)
    _harden(decimal.getcontext())


install_context()

_DECIMAL_TEXT = re.compile(r"^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?$")


class AssetKind(StrEnum):
    """What an asset is, as the snapshot contract names it (DESIGN.md, assets.csv).

    * ``crypto``: a crypto-asset (Japan: 暗号資産, PSA Art. 2(14)).
    * ``fiat``: money.
    * ``epi``: an electronic payment instrument (Japan: 電子決済手段, PSA Art. 2(5)), e.g. a
      fiat-backed stablecoin that Japanese law classes as such; *not* a 暗号資産.
    * ``stablecoin``: a fiat-referenced token whose legal classification the snapshot does
      not state. Each regime says what it does with ``epi`` and ``stablecoin``
      (docs/regimes.md, "Asset kinds"); Japan takes the stricter of both readings.
    """

    CRYPTO = "crypto"
    FIAT = "fiat"
    STABLECOIN = "stablecoin"
    EPI = "epi"


@dataclass(frozen=True, slots=True)
class Asset:
    """An asset with the number of decimal places its ledger keeps (0-18)."""

    code: str
    kind: AssetKind
    scale: int
    price: Decimal
    """Price of one unit in the snapshot's reporting currency at ``as_of``."""

    def __post_init__(self) -> None:
        if not 0 <= self.scale <= MAX_SCALE:
            msg = f"asset {self.code}: scale {self.scale} outside 0-{MAX_SCALE}"
            raise ValueError(msg)
        if not isinstance(self.price, Decimal) or self.price < 0:
            msg = f"asset {self.code}: price must be a non-negative Decimal"
            raise ValueError(msg)

    @property
    def quantum(self) -> Decimal:
        """The smallest unit of the ledger, e.g. ``0.00000001`` for BTC."""
        return Decimal(1).scaleb(-self.scale)

    def quantize(self, value: Decimal, rounding: str = ROUND_FLOOR) -> Decimal:
        """Quantize ``value`` to this asset's scale with an explicit rounding mode."""
        return quantize(value, self.scale, rounding)

    def to_units(self, value: Decimal) -> int:
        """Integer minor units (storage boundary); ``value`` must already be at scale."""
        units = value.scaleb(self.scale)
        if units != units.to_integral_value():
            msg = f"{value} is finer than {self.code}'s scale {self.scale}"
            raise ValueError(msg)
        return int(units)

    def from_units(self, units: int) -> Decimal:
        """The Decimal for ``units`` minor units, at this asset's scale."""
        return Decimal(units).scaleb(-self.scale)


def parse_decimal(text: str) -> Decimal:
    """Read a decimal string exactly ("12.50", "-3", "0.00000001"); no exponent, no float.

    Raises:
        ValueError: the text is not a plain decimal number.
    """
    stripped = text.strip()
    if not _DECIMAL_TEXT.match(stripped):
        msg = f"not a decimal number: {text!r}"
        raise ValueError(msg)
    return Decimal(stripped)


def decimal_places(value: Decimal) -> int:
    """How many significant decimal places ``value`` has (``1.50`` has 1, ``100`` has 0)."""
    if value == 0:
        return 0
    exponent = value.normalize().as_tuple().exponent
    assert isinstance(exponent, int)  # finite Decimal by construction
    return max(0, -exponent)


def quantize(value: Decimal, scale: int, rounding: str) -> Decimal:
    """Quantize ``value`` to ``scale`` decimal places with the given rounding mode."""
    return value.quantize(Decimal(1).scaleb(-scale), rounding=rounding)


def round_requirement(value: Decimal, scale: int = 0) -> Decimal:
    """Round a requirement up (towards +infinity): the exchange never holds too little."""
    return quantize(value, scale, ROUND_CEILING)


def round_credit(value: Decimal, scale: int = 0) -> Decimal:
    """Round a credit down (towards -infinity): nothing is counted that is not there."""
    return quantize(value, scale, ROUND_FLOOR)


def round_requirement_in(value: Decimal, currency: str) -> Decimal:
    """A requirement rounded up to ``currency``'s minor unit (ISO 4217: cents for EUR, none for KRW).

    ¼ × €200,000.04 = €50,000.01 (not €50,001): rounding stops at the cent.
    """
    return round_requirement(value, minor_unit(currency))


def round_credit_in(value: Decimal, currency: str) -> Decimal:
    """A credit rounded down to ``currency``'s minor unit (ISO 4217)."""
    return round_credit(value, minor_unit(currency))


def convert(quantity: Decimal, price: Decimal, scale: int, rounding: str) -> Decimal:
    """Value ``quantity`` at ``price`` and round the result to ``scale`` places."""
    return quantize(quantity * price, scale, rounding)


def canonical(value: Decimal) -> str:
    """The shortest exact decimal string of ``value``: no exponent, no trailing zeros."""
    text = f"{value.normalize():f}"
    return "0" if text in ("-0", "0") else text


def allocate_largest_remainder(
    total: Decimal,
    weights: Mapping[str, Decimal],
    scale: int,
    caps: Mapping[str, Decimal] | None = None,
) -> dict[str, Decimal]:
    """Share ``total`` in proportion to ``weights`` at ``scale``; never more than exists.

    Each share is first floored to the scale; the minimal units left over go one at a
    time to the keys with the largest fractional remainder, ties broken by key in
    ascending order (DESIGN.md, "Conservative rounding"). With ``caps`` (e.g. claims),
    no key receives more than its cap; the caller sees any undistributed remainder as
    ``total - sum(result)``.

    Raises:
        ValueError: a negative weight or total, or a total finer than ``scale``.
    """
    if total < 0 or any(w < 0 for w in weights.values()):
        msg = "total and weights must be non-negative"
        raise ValueError(msg)
    quantum = Decimal(1).scaleb(-scale)
    if quantize(total, scale, ROUND_FLOOR) != total:
        msg = f"total {total} is finer than scale {scale}"
        raise ValueError(msg)
    weight_sum = sum(weights.values(), Decimal(0))
    if weight_sum == 0:
        return dict.fromkeys(weights, Decimal(0).quantize(quantum))
    shares: dict[str, Decimal] = {}
    remainders: list[tuple[Decimal, str]] = []
    for key, weight in weights.items():
        exact = total * weight / weight_sum
        if caps is not None:
            exact = min(exact, caps[key])
        floored = quantize(exact, scale, ROUND_FLOOR)
        shares[key] = floored
        remainders.append((exact - floored, key))
    left = total - sum(shares.values(), Decimal(0))
    # largest remainder first; equal remainders by key ascending
    remainders.sort(key=lambda item: (-item[0], item[1]))
    for remainder, key in remainders:
        if left < quantum:
            break
        if remainder == 0:
            continue
        if caps is not None and shares[key] + quantum > caps[key]:
            continue
        shares[key] += quantum
        left -= quantum
    return shares


def total_of(values: Sequence[Decimal]) -> Decimal:
    """Exact sum of Decimals (``sum`` with a Decimal start, spelled once)."""
    return sum(values, Decimal(0))


class UnitMismatch(ValueError):
    """Two amounts in different units (yen and euros, BTC and ETH) were combined."""


@dataclass(frozen=True, slots=True)
class Amount:
    """An exact amount with its unit: a currency (``JPY``) or an asset (``BTC``).

    In the spirit of Beancount's ``Amount``: immutable, exact (``Decimal`` only), and
    arithmetic and comparison only within one unit, so adding yen to euros raises
    :class:`UnitMismatch` instead of passing silently. Scaling by a plain ``Decimal``
    (a rate, a share) keeps the unit; converting to another unit goes through an explicit
    price and rounding (:meth:`at`).
    """

    value: Decimal
    unit: str

    def __post_init__(self) -> None:
        if not isinstance(self.value, Decimal) or not self.value.is_finite():
            msg = f"amount value must be a finite Decimal, got {self.value!r}"
            raise TypeError(msg)
        if not isinstance(self.unit, str) or not self.unit:
            msg = f"amount unit must be a non-empty code, got {self.unit!r}"
            raise TypeError(msg)

    @classmethod
    def zero(cls, unit: str) -> Amount:
        """Nothing, in ``unit`` (the start of a sum)."""
        return cls(Decimal(0), unit)

    def _same(self, other: object, operation: str) -> Amount:
        if not isinstance(other, Amount):
            msg = f"cannot {operation} {self} and {other!r}: not an Amount"
            raise TypeError(msg)
        if other.unit != self.unit:
            msg = f"cannot {operation} {self} and {other}: different units"
            raise UnitMismatch(msg)
        return other

    def __add__(self, other: Amount) -> Amount:
        return Amount(self.value + self._same(other, "add").value, self.unit)

    def __sub__(self, other: Amount) -> Amount:
        return Amount(self.value - self._same(other, "subtract").value, self.unit)

    def __neg__(self) -> Amount:
        return Amount(-self.value, self.unit)

    def __mul__(self, factor: Decimal) -> Amount:
        if not isinstance(factor, Decimal):
            msg = f"an amount scales by a Decimal, got {factor!r}"
            raise TypeError(msg)
        return Amount(self.value * factor, self.unit)

    __rmul__ = __mul__

    def __lt__(self, other: Amount) -> bool:
        return self.value < self._same(other, "compare").value

    def __le__(self, other: Amount) -> bool:
        return self.value <= self._same(other, "compare").value

    def __gt__(self, other: Amount) -> bool:
        return self.value > self._same(other, "compare").value

    def __ge__(self, other: Amount) -> bool:
        return self.value >= self._same(other, "compare").value

    def quantize(self, scale: int, rounding: str) -> Amount:
        """The amount at ``scale`` places with an explicit rounding mode."""
        return Amount(quantize(self.value, scale, rounding), self.unit)

    def at(self, price: Amount, scale: int, rounding: str) -> Amount:
        """The value of this quantity at ``price`` (per one unit of it), rounded to ``scale``.

        ``price`` is in the target unit, e.g. ``Amount(15000000, "JPY")`` per BTC.
        """
        return Amount(convert(self.value, price.value, scale, rounding), price.unit)

    def __str__(self) -> str:
        return f"{canonical(self.value)} {self.unit}"


def sum_amounts(amounts: Iterable[Amount], unit: str) -> Amount:
    """Σ of ``amounts``, all in ``unit`` (zero for none).

    Raises:
        UnitMismatch: an amount is in another unit.
    """
    total = Amount.zero(unit)
    for amount in amounts:
        total = total + amount
    return total
