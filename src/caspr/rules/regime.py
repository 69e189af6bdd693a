"""What every regime produces: an assessment with components, funding and findings."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

from caspr.citation import Citation, Status
from caspr.component import Component
from caspr.engine import Exposure
from caspr.invariants import check_funding
from caspr.money import canonical, quantize
from caspr.params import ParameterView, ParamValue
from caspr.snapshot.loader import Snapshot


class Severity(StrEnum):
    """How serious a finding is."""

    BREACH = "breach"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True, slots=True)
class Finding:
    """One check's outcome; the same object for ``assess`` and ``custody``."""

    rule: str
    severity: Severity
    message: str
    citation: Citation | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "rule": self.rule,
            "severity": self.severity.value,
            "message": self.message,
            "citation": str(self.citation) if self.citation else None,
        }


@dataclass(frozen=True, slots=True)
class Context:
    """What a regime reads: the snapshot, its exposure and its trailing volumes."""

    snapshot: Snapshot
    exposure: Exposure
    volumes: dict[str, Decimal]
    as_of: dt.date
    average_prices: dict[str, Decimal] = field(default_factory=dict)
    """Mean daily price per asset over the year before ``as_of`` (empty without prices.csv)."""

    @property
    def currency(self) -> str:
        """The reporting currency."""
        return self.exposure.currency


@dataclass(frozen=True, slots=True)
class Assessment:
    """A regime's answer for one snapshot: requirement, funding, coverage, findings."""

    regime: str
    title: str
    status: Status
    currency: str
    requirement: Component
    funding: Component
    reserve: Decimal
    insurance: Decimal
    findings: tuple[Finding, ...]
    overridden: tuple[ParamValue, ...] = ()
    parameters: tuple[ParamValue, ...] = field(default=())

    @property
    def coverage_ratio(self) -> Decimal | None:
        """Funding over requirement, floored to 4 places (None when nothing is required)."""
        if self.requirement.amount == 0:
            return None
        return quantize(self.funding.amount / self.requirement.amount, 4, ROUND_FLOOR)

    @property
    def breaches(self) -> tuple[Finding, ...]:
        """The findings of severity breach."""
        return tuple(f for f in self.findings if f.severity is Severity.BREACH)

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape documented in issue #3 and docs/assess.md."""
        ratio = self.coverage_ratio
        return {
            "regime": self.regime,
            "title": self.title,
            "status": self.status.value,
            "requirement": {"amount": canonical(self.requirement.amount), "currency": self.currency},
            "funding": {
                "amount": canonical(self.funding.amount),
                "currency": self.currency,
                "reserve": canonical(self.reserve),
                "insurance": canonical(self.insurance),
            },
            "coverage_ratio": f"{ratio:f}" if ratio is not None else None,
            "components": [self.requirement.to_dict(), self.funding.to_dict()],
            "findings": [f.to_dict() for f in self.findings],
            "overridden": [
                {"parameter": p.name, "value": canonical(p.value), "note": p.citation.note}
                for p in self.overridden
            ],
        }


class Regime(Protocol):
    """A regime package's entry point."""

    id: str
    title: str
    status: Status
    jurisdictions: tuple[str, ...]
    currency: str | None
    """The currency its fixed amounts are in (None: any reporting currency)."""
    parameters_dir: Path

    def assess(self, ctx: Context, params: ParameterView) -> Assessment:
        """The assessment of ``ctx`` under this regime."""
        ...


def assessment(
    regime: Regime,
    ctx: Context,
    params: ParameterView,
    requirement: Component,
    funding: Component,
    reserve: Decimal,
    insurance: Decimal,
    findings: list[Finding],
) -> Assessment:
    """A regime's :class:`Assessment`, with the parameters it used and those a reform overrode.

    Every regime's answer passes here, so the funding invariant is asserted once for all:
    the funding components add up to the total (:func:`caspr.invariants.check_funding`).

    Raises:
        InvariantViolation: the funding does not add up (a bug in the regime, never the input).
    """
    check_funding(regime.id, funding, reserve, insurance)
    return Assessment(
        regime.id,
        regime.title,
        regime.status,
        ctx.currency,
        requirement,
        funding,
        reserve,
        insurance,
        tuple(findings),
        tuple(params.overridden()),
        tuple(params.all()),
    )


def ratio_text(value: Decimal, places: int = 4) -> str:
    """A ratio as a plain decimal string floored to ``places`` (for inputs and messages)."""
    return f"{quantize(value, places, ROUND_FLOOR):f}"


def zero_requirement(currency: str, reason: str, citation: Citation | None) -> Component:
    """A requirement of zero for regimes that set only limits."""
    return Component("requirement", Decimal(0), currency, reason, citation=citation)
