"""Render reports to one self-contained HTML file (Jinja2, autoescaped; CSS and charts inline).

Nothing is loaded from the network when the file is opened: styles are in the page,
charts are inline SVG, citations' addresses are printed as text, not fetched.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, InvalidOperation
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from caspr.citation import Citation
from caspr.component import Component
from caspr.money import canonical, quantize
from caspr.report import charts
from caspr.report.document import GROUPS, SnapshotReport
from caspr.report.i18n import Language


class Citations:
    """Numbers each distinct citation in the order the page first cites it."""

    def __init__(self) -> None:
        self.items: list[Citation] = []

    def __call__(self, citation: Citation | None) -> int | None:
        """The number of ``citation`` (None for none)."""
        if citation is None:
            return None
        if citation not in self.items:
            self.items.append(citation)
        return self.items.index(citation) + 1


@cache
def environment() -> Environment:
    """The template environment: HTML autoescaping on, undefined names an error."""
    return Environment(
        loader=PackageLoader("caspr.report", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def caspr_version() -> str:
    """The installed caspr version (for the report's colophon)."""
    try:
        return version("caspr")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "unknown"


def _helpers(lang: Language) -> dict[str, Any]:
    def amount(value: Decimal, currency: str | None = None) -> Markup:
        text = lang.money(value, currency) if currency else lang.number(value)
        return Markup('<span class="amount" data-amount="{}">{}</span>').format(canonical(value), text)

    def input_value(text: str) -> str:
        try:
            return lang.number(Decimal(text))
        except InvalidOperation:
            return text

    def component_name(node: Component) -> str:
        return lang.t_or(f"component.{node.name}", node.name)

    return {
        "t": lang.t,
        "t_or": lang.t_or,
        "amount": amount,
        "input_value": input_value,
        "component_name": component_name,
        "canonical": canonical,
        "Decimal": Decimal,
    }


@dataclass(frozen=True, slots=True)
class Share:
    """One crypto asset's customer holdings by storage, and the hot and cold shares shown."""

    asset: str
    hot: Decimal
    cold: Decimal
    custodian: Decimal
    hot_share: Decimal | None
    """Rounded up (a hot share is never understated)."""
    cold_share: Decimal | None
    """Cold plus custodian, rounded down (never overstated)."""
    hot_value: Decimal
    """Hot holdings valued at the snapshot price (reporting currency, exact)."""


SHARE_PLACES = 6
"""Shares to 6 places: a percentage with 4 decimals."""


def custody_shares(report: SnapshotReport) -> list[Share]:
    """Per crypto asset, from the same exposure the custody command reads."""
    rows = []
    for e in report.exposure.crypto():
        held = e.customer_hot + e.customer_cold + e.customer_custodian
        hot = quantize(e.customer_hot / held, SHARE_PLACES, ROUND_CEILING) if held else None
        cold = (
            quantize((e.customer_cold + e.customer_custodian) / held, SHARE_PLACES, ROUND_FLOOR)
            if held
            else None
        )
        rows.append(
            Share(e.asset, e.customer_hot, e.customer_cold, e.customer_custodian, hot, cold, e.hot_value)
        )
    return rows


def _svg(markup: str | None) -> Markup | None:
    # matplotlib's own SVG: its text nodes are XML-escaped by the backend
    return Markup(markup) if markup is not None else None


def snapshot_charts(report: SnapshotReport, lang: Language) -> dict[str, Markup | None]:
    """The four charts of a snapshot report (None where there is nothing to draw)."""
    a = report.assessment
    names = {x.regime: lang.t_or(f"regime.{x.regime}.short", x.regime) for x in a.assessments}
    coverage = [
        charts.Bar(names[x.regime], x.coverage_ratio) for x in a.assessments if x.coverage_ratio is not None
    ]
    funding = [(names[x.regime], x.reserve, x.insurance, x.requirement.amount) for x in a.assessments]
    hot_cold = [
        (e.asset, e.customer_hot, e.customer_cold, e.customer_custodian) for e in report.exposure.crypto()
    ]
    stress = None
    if report.stress is not None:
        s = report.stress
        stress = charts.stress_losses(s.losses, s.capacity, s.var, s.currency, lang)
    return {
        "coverage": _svg(charts.coverage(coverage, lang)),
        "funding": _svg(charts.funding_mix(funding, a.currency, lang)),
        "hot_cold": _svg(charts.hot_cold(hot_cold, lang)),
        "stress": _svg(stress),
    }


def render_snapshot(report: SnapshotReport, language: str) -> str:
    """The snapshot report as one self-contained HTML document in ``language``."""
    lang = Language(language)
    template = environment().get_template("snapshot.html.j2")
    return template.render(
        r=report,
        lang=lang,
        groups=GROUPS,
        findings=report.findings,
        charts=snapshot_charts(report, lang),
        shares=custody_shares(report),
        cite=Citations(),
        version=caspr_version(),
        **_helpers(lang),
    )


def render_summary(kind: str, summary: dict[str, Any], language: str, context: dict[str, Any]) -> str:
    """An incident (``kind`` = incident) or distribution (``distribution``) report from its summary.json."""
    lang = Language(language)
    template = environment().get_template(f"{kind}.html.j2")
    return template.render(s=summary, lang=lang, version=caspr_version(), **context, **_helpers(lang))
