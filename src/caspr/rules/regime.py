"""What every regime produces: an assessment with components, funding and findings."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from decimal import ROUND_FLOOR, Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

from caspr.citation import Citation, Status
from caspr.component import Component
from caspr.currency import FxRate
from caspr.engine import Exposure
from caspr.errors import InputError, Problem
from caspr.invariants import check_funding
from caspr.money import canonical, quantize
from caspr.params import ParameterView, ParamValue
from caspr.reserve import unstated_items
from caspr.snapshot.loader import Snapshot


class Severity(StrEnum):
    """How serious a finding is.

    ``projection`` is what a *proposed* rule would find: shown beside the law in force,
    never a breach of it, and never counted by ``--fail-on-breach`` unless
    ``--include-proposed`` is given (DESIGN.md, "Rules as code").
    """

    BREACH = "breach"
    PROJECTION = "projection"
    WARNING = "warning"
    INFO = "info"


LEGAL_EFFECT = {
    Severity.BREACH: "breach of the law in force",
    Severity.PROJECTION: "projection under a proposed rule: not law, no legal effect",
    Severity.WARNING: "warning",
    Severity.INFO: "information",
}
"""How each severity reads in every output (table, JSON, CSV), so a projection is never mistaken."""


@dataclass(frozen=True, slots=True)
class Finding:
    """One check's outcome; the same object for ``assess`` and ``custody``."""

    rule: str
    severity: Severity
    message: str
    citation: Citation | None = None

    @classmethod
    def applying(cls, rule: str, severity: Severity, message: str, param: ParamValue) -> Finding:
        """A finding cited by the parameter it applies (the citation lives once, in its YAML)."""
        return cls(rule, severity, message, param.citation)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "rule": self.rule,
            "severity": self.severity.value,
            "legal_effect": LEGAL_EFFECT[self.severity],
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
    price_days: dict[str, int] = field(default_factory=dict)
    """Days with a price per asset in that window (the history's coverage)."""
    price_window: tuple[dt.date, dt.date] | None = None
    """The first and last day of the price window (the calendar year before ``as_of``)."""

    @property
    def currency(self) -> str:
        """The reporting currency."""
        return self.exposure.currency

    def fx_rate(self, base: str) -> FxRate | None:
        """The snapshot's rate from ``base`` to the reporting currency (None when they are the same).

        Raises:
            InputError: the currencies differ and the snapshot supplies no such rate (caspr
                never invents one).
        """
        if base == self.currency:
            return None
        for entry in self.snapshot.exchange.fx_rates:
            if entry.base.value == base and entry.quote.value == self.currency:
                return FxRate(base, self.currency, entry.rate, entry.date, entry.source)
        raise InputError(
            [
                Problem(
                    "exchange.yaml",
                    None,
                    "fx_rates",
                    f"no {base}→{self.currency} rate: amounts fixed in {base} cannot be compared with "
                    f"figures in {self.currency}; supply the rate used, with its date and source "
                    f"(e.g. the ECB euro reference rate); caspr never invents one",
                )
            ]
        )


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
    reserve_label: str = "reserve"
    """What ``reserve`` holds, as the JSON names it (``own_funds`` for MiCA, ``set_aside`` for Hong Kong)."""
    accounting: Component | None = None
    """A second funding view where the regime has one: the reserve as booked on the balance
    sheet (shown beside ``funding``, the assets set aside; never added to it)."""

    @property
    def coverage_ratio(self) -> Decimal | None:
        """Funding over requirement, floored to 4 places (None when nothing is required)."""
        if self.requirement.amount == 0:
            return None
        return quantize(self.funding.amount / self.requirement.amount, 4, ROUND_FLOOR)

    @property
    def breaches(self) -> tuple[Finding, ...]:
        """The findings of severity breach (a proposed rule has none: it projects)."""
        return tuple(f for f in self.findings if f.severity is Severity.BREACH)

    @property
    def projections(self) -> tuple[Finding, ...]:
        """What a proposed rule would find: shown, never counted as a breach of law."""
        return tuple(f for f in self.findings if f.severity is Severity.PROJECTION)

    @property
    def legal_effect(self) -> str:
        """How to read this assessment's findings: law in force, or a proposed rule's projection."""
        if self.status is Status.PROPOSED:
            return "proposed rule: results are projections, not law"
        return "law in force"

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape documented in issue #3 and docs/assess.md."""
        ratio = self.coverage_ratio
        return {
            "regime": self.regime,
            "title": self.title,
            "status": self.status.value,
            "legal_effect": self.legal_effect,
            "requirement": {"amount": canonical(self.requirement.amount), "currency": self.currency},
            "funding": {
                "amount": canonical(self.funding.amount),
                "currency": self.currency,
                self.reserve_label: canonical(self.reserve),
                "insurance": canonical(self.insurance),
            },
            "coverage_ratio": f"{ratio:f}" if ratio is not None else None,
            "components": [self.requirement.to_dict(), self.funding.to_dict()],
            "accounting_reserve": self.accounting.to_dict() if self.accounting else None,
            "findings": [f.to_dict() for f in self.findings],
            "overridden": [
                {"parameter": p.name, "value": canonical(p.value), "note": p.citation.note}
                for p in self.overridden
            ],
            "parameters": [p.to_dict() for p in self.parameters],
        }

    @property
    def unverified_parameters(self) -> tuple[ParamValue, ...]:
        """Parameters used here whose value still needs a check against the primary text."""
        return tuple(p for p in self.parameters if p.citation.needs_primary_check)


class Regime(Protocol):
    """A regime package's entry point."""

    id: str
    title: str
    status: Status
    jurisdictions: tuple[str, ...]
    currency: str | None
    """The currency its fixed amounts are in (None: any reporting currency)."""
    fx_convertible: bool
    """Whether it converts its fixed amounts at a rate the snapshot supplies (else it is skipped)."""
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
    reserve_label: str = "reserve",
    accounting: Component | None = None,
) -> Assessment:
    """A regime's :class:`Assessment`, with the parameters it used and those a reform overrode.

    Every regime's answer passes here, so the funding invariant is asserted once for all:
    the funding components add up to the total (:func:`caspr.invariants.check_funding`).
    A proposed regime cannot report a breach of law: any breach it raises becomes a
    projection here, in one place, whatever the regime module wrote.

    Raises:
        InvariantViolation: the funding does not add up (a bug in the regime, never the input).
    """
    check_funding(regime.id, funding, reserve, insurance)
    findings = [*findings, *unstated_findings(regime.id, funding)]
    if regime.status is Status.PROPOSED:
        findings = [
            replace(f, severity=Severity.PROJECTION) if f.severity is Severity.BREACH else f for f in findings
        ]
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
        reserve_label,
        accounting,
    )


def unstated_findings(regime_id: str, funding: Component) -> list[Finding]:
    """One warning per reserve deposit or policy not counted because a field it needs is missing.

    A missing field never counts in the exchange's favour (DESIGN.md, "Conservative by
    default"): the item is left out of funding, and this finding says which field to state.
    """
    return [
        Finding(
            f"{regime_id.split('-', maxsplit=1)[0]}.funding.unstated",
            Severity.WARNING,
            f"{name}: not counted because {fields} not stated; state it to have the item assessed",
            funding.citation,
        )
        for name, fields in unstated_items(funding)
    ]


def ratio_text(value: Decimal, places: int = 4) -> str:
    """A ratio as a plain decimal string floored to ``places`` (for inputs and messages)."""
    return f"{quantize(value, places, ROUND_FLOOR):f}"


def share_text(share: Decimal, limit: Decimal, places: int = 4) -> str:
    """``share`` as a percentage with enough digits to show which side of ``limit`` it is on.

    Floored to ``places`` decimals; when the share is over the limit but the floored figure
    would not show it (1 satoshi over 5% prints "5.0000%"), more digits are added until it
    does (up to 40), so a breach never reads as the limit itself.
    """
    percent, bound = share * 100, limit * 100
    shown = quantize(percent, places, ROUND_FLOOR)
    while percent > bound and shown <= bound and places < 40:
        places += 1
        shown = quantize(percent, places, ROUND_FLOOR)
    return f"{shown:f}%"


def zero_requirement(currency: str, reason: str, citation: Citation | None) -> Component:
    """A requirement of zero for regimes that set only limits."""
    return Component("requirement", Decimal(0), currency, reason, citation=citation)
