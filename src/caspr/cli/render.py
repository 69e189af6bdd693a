"""Rich renderings of library results for people (the JSON outputs carry the exact values)."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_EVEN, Decimal
from typing import TYPE_CHECKING, Any

from rich.cells import cell_len
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from caspr.citation import Citation
from caspr.component import Component
from caspr.currency import minor_unit
from caspr.engine import Exposure
from caspr.rules.regime import Assessment

if TYPE_CHECKING:
    from caspr.assess import Report
    from caspr.custody import CustodyReport
from caspr.snapshot.loader import Snapshot

BARE_NUMBER = re.compile(r"(?<![\w.,:/#-])(\d{4,})((?:\.\d+)?)(?![\w,]|\.\d|-\d)")
"""An integer of four digits or more inside a sentence, not part of an id, date, hash or version."""


def grouped(message: str) -> str:
    """``message`` with its amounts grouped like the tables: ``811799462`` → ``811,799,462``.

    Display only (the JSON keeps the exact text). Years are left alone (``2026``), and so is
    any digit run that is part of a word, a date, a rule id or a decimal's fraction.
    """

    def group(match: re.Match[str]) -> str:
        whole, fraction = match.group(1), match.group(2)
        if len(whole) == 4 and not fraction and 1900 <= int(whole) <= 2100:
            return match.group(0)  # a year
        return f"{int(whole):,}{fraction}"

    return BARE_NUMBER.sub(group, message)


def money(value: Decimal, places: int = 0) -> str:
    """A readable amount with thousands separators (display only; exact values are in JSON)."""
    quantum = Decimal(1).scaleb(-places)
    return f"{value.quantize(quantum, rounding=ROUND_HALF_EVEN):,f}"


def millions(value: Decimal) -> str:
    """An amount in millions with one decimal, for wide tables (display only)."""
    return money(value / 1_000_000, 1)


def percent(part: Decimal, whole: Decimal, places: int = 2) -> str:
    """``part / whole`` as a percentage for display ("—" when ``whole`` is zero)."""
    if whole == 0:
        return "—"
    return f"{money(part * 100 / whole, places)}%"


def units(value: Decimal) -> str:
    """A quantity for display: at most 4 decimals (exact values are in JSON)."""
    shown = value.quantize(Decimal("0.0001"), rounding=ROUND_HALF_EVEN).normalize()
    return f"{shown:,f}"


def size(n: int) -> str:
    """A byte count for people: ``2.6 MB``, ``200.0 TB`` (decimal units, one decimal)."""
    value = Decimal(n)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{money(value, 1 if unit != 'B' else 0)} {unit}"
        value /= 1000
    raise AssertionError  # unreachable: the loop returns at TB


def snapshot_summary(snapshot: Snapshot) -> Table:
    """What a valid snapshot holds."""
    ex = snapshot.exchange
    table = Table(title=f"{ex.name} — valid", show_header=False, title_justify="left")
    table.add_row("exchange", f"{ex.id} ({ex.jurisdiction.value})")
    table.add_row("as of", ex.as_of.isoformat())
    table.add_row("reporting currency", ex.reporting_currency.value)
    table.add_row("licences", ", ".join(lic.value for lic in ex.licences) or "—")
    table.add_row("assets", ", ".join(snapshot.assets))
    for file in snapshot.tables.values():
        table.add_row(f"{file.path.name}", f"{file.rows:,} rows")
    table.add_row("insurance policies", str(len(snapshot.policies)))
    table.add_row("reserve deposits", str(len(snapshot.deposits)))
    return table


def exposure_table(exposure: Exposure) -> Table:
    """Per-asset liabilities and where the customer assets sit, valued in the currency."""
    cur = exposure.currency
    table = Table(
        title=f"Customer assets and where they are held (values in {cur} millions)", title_justify="left"
    )
    for header in (
        "asset",
        "price",
        "liabilities (units)",
        "value",
        "hot",
        "cold",
        "custodian",
        "guarantee",
        "company",
        "hot share",
    ):
        table.add_column(header, justify="left" if header == "asset" else "right")
    for a in exposure.assets:
        value = a.liabilities_value
        table.add_row(
            a.asset,
            units(a.price),
            units(a.liabilities),
            millions(value),
            millions(a.customer_hot * a.price),
            millions(a.customer_cold * a.price),
            millions(a.customer_custodian * a.price),
            millions(a.guarantee * a.price),
            millions(a.company * a.price),
            percent(a.customer_hot, a.customer_held),
        )
    crypto = exposure.total("liabilities")
    table.add_section()
    table.add_row(
        "crypto total",
        "",
        "",
        millions(crypto),
        millions(exposure.total("customer_hot")),
        millions(exposure.total("customer_cold")),
        millions(exposure.total("customer_custodian")),
        millions(exposure.total("guarantee")),
        millions(exposure.total("company")),
        percent(
            exposure.total("customer_hot"),
            exposure.total("customer_hot")
            + exposure.total("customer_cold")
            + exposure.total("customer_custodian"),
        ),
    )
    return table


def volume_table(volumes: dict[str, Decimal], currency: str) -> Table:
    """Trailing-12-month traded notional per category."""
    table = Table(title=f"Trading volume, trailing 12 months ({currency})", title_justify="left")
    table.add_column("category")
    table.add_column("notional", justify="right")
    for category, notional in volumes.items():
        table.add_row(category, money(notional))
    table.add_section()
    table.add_row("total", money(sum(volumes.values(), Decimal(0))))
    return table


SEVERITY_STYLE = {"breach": "bold red", "projection": "magenta", "warning": "yellow", "info": "green"}
SEVERITY_LABEL = {"projection": "projection (proposed rule, not law)"}
"""How a severity reads in a table: a projection always says it is not a breach of law."""


class Footnotes:
    """Numbers citations in order of first use, so tables stay narrow and sources stay full."""

    def __init__(self) -> None:
        self.cited: dict[str, int] = {}

    def mark(self, citation: Citation | None) -> str:
        """``[n]`` for ``citation`` (empty for none)."""
        if citation is None:
            return ""
        text = str(citation) + (f" — {citation.url}" if citation.url else "")
        number = self.cited.setdefault(text, len(self.cited) + 1)
        return f"[{number}]"

    def render(self) -> Text:
        """The numbered list of full citations."""
        return Text("\n".join(f"[{n}] {text}" for text, n in self.cited.items()), style="dim")


def component_table(title: str, root: Component, notes: Footnotes) -> Table:
    """A component tree as an indented table: name, amount, formula, inputs, source."""
    table = Table(title=title, title_justify="left", show_lines=False)
    table.add_column("component")
    table.add_column(f"amount ({root.currency})", justify="right")
    table.add_column("formula")
    table.add_column("inputs")
    table.add_column("source")
    places = minor_unit(root.currency)  # to the cent where the currency has cents, as the headline
    for depth, node in root.walk():
        inputs = "; ".join(f"{k}={v}" for k, v in node.inputs)
        table.add_row(
            "  " * depth + node.name,
            money(node.amount, places),
            node.formula,
            inputs,
            notes.mark(node.citation),
        )
    return table


def assessment_view(assessment: Assessment) -> Group:
    """One regime's answer: headline, requirement and funding trees, findings, overrides."""
    ratio = assessment.coverage_ratio
    places = minor_unit(assessment.currency)  # cents show: €50,000.01 required is not €50,000
    headline = Text.assemble(
        (f"{assessment.regime}", "bold"),
        f" — {assessment.title} ",
        (f"[{assessment.status.value}]", "cyan"),
        (
            f"\n{assessment.legal_effect}",
            "magenta" if assessment.projections or assessment.status.value == "proposed" else "dim",
        ),
        f"\nrequirement {money(assessment.requirement.amount, places)} {assessment.currency}",
        f" · funding {money(assessment.funding.amount, places)} {assessment.currency}",
        f" ({assessment.reserve_label.replace('_', ' ')} {money(assessment.reserve, places)},"
        f" insurance {money(assessment.insurance, places)})",
        f" · coverage {'—' if ratio is None else f'{ratio:f}'}",
    )
    parts: list[Any] = [headline]
    notes = Footnotes()
    if assessment.requirement.amount or assessment.requirement.children:
        parts.append(component_table("Why this requirement", assessment.requirement, notes))
    if assessment.funding.children:
        parts.append(component_table("What counts as funding (assets set aside)", assessment.funding, notes))
    if assessment.accounting is not None:
        parts.append(component_table("Accounting reserve (as booked)", assessment.accounting, notes))
    findings = Table(title="Findings", title_justify="left")
    findings.add_column("severity")
    findings.add_column("rule")
    findings.add_column("finding")
    findings.add_column("source")
    for f in assessment.findings:
        findings.add_row(
            Text(
                SEVERITY_LABEL.get(f.severity.value, f.severity.value), style=SEVERITY_STYLE[f.severity.value]
            ),
            f.rule,
            grouped(f.message),
            notes.mark(f.citation),
        )
    parts.append(findings)
    parts.append(notes.render())
    if assessment.overridden:
        lines = [f"  {p.name} = {p.value} ({p.citation.note})" for p in assessment.overridden]
        parts.append(Text("Overridden for this run:\n" + "\n".join(lines), style="yellow"))
    unverified = assessment.unverified_parameters
    if unverified:
        names = ", ".join(p.name for p in unverified)
        parts.append(Text(f"Parameters needing a primary-source check: {names}", style="yellow"))
    return Group(*parts)


def report_summary(reports: list[Report]) -> Table:
    """One line per exchange and regime: requirement, funding, coverage, breaches."""
    table = Table(title="Assessments", title_justify="left")
    for header in (
        "exchange",
        "regime",
        "status",
        "requirement",
        "funding",
        "coverage",
        "breaches",
        "projections (not law)",
    ):
        table.add_column(
            header, justify="right" if header in ("requirement", "funding", "coverage") else "left"
        )
    for report in reports:
        for a in report.assessments:
            ratio = a.coverage_ratio
            table.add_row(
                report.exchange,
                a.regime,
                a.status.value,
                f"{money(a.requirement.amount, minor_unit(a.currency))} {a.currency}",
                f"{money(a.funding.amount, minor_unit(a.currency))} {a.currency}",
                "—" if ratio is None else f"{ratio:f}",
                Text(str(len(a.breaches)), style="bold red" if a.breaches else "green"),
                Text(str(len(a.projections)), style="magenta" if a.projections else "green"),
            )
    return table


def custody_view(report: CustodyReport) -> Group:
    """Reconciliation per asset, the hot/cold methods, and the findings."""
    rec = Table(
        title=f"Segregation: customer wallets against what customers are owed ({report.currency})",
        title_justify="left",
    )
    for header in (
        "asset",
        "owed (units)",
        "customer wallets",
        "difference",
        f"difference {report.currency}",
        "company wallets",
        "guarantee",
    ):
        rec.add_column(header, justify="left" if header == "asset" else "right")
    for r in report.assets:
        style = "red" if r.difference < 0 else ("yellow" if r.difference > 0 else "")
        rec.add_row(
            r.asset,
            units(r.liabilities),
            units(r.customer_held),
            Text(units(r.difference), style=style),
            money(r.difference_value),
            units(r.company_held),
            units(r.guarantee),
        )
    methods = Table(title="Cold storage as each regime computes it", title_justify="left")
    for header in ("regime", "method", "cold share", "limit", "result"):
        methods.add_column(header)
    for m in report.methods:
        share = "—" if m.cold_share is None else percent(m.cold_share, Decimal(1), 4)
        methods.add_row(
            m.regime,
            m.method,
            share,
            m.limit,
            _method_result(m.passed, report.applies(m), m.jurisdiction),
        )
    findings = Table(title="Findings", title_justify="left")
    for header in ("severity", "rule", "finding"):
        findings.add_column(header)
    for f in report.findings:
        findings.add_row(
            Text(
                SEVERITY_LABEL.get(f.severity.value, f.severity.value), style=SEVERITY_STYLE[f.severity.value]
            ),
            f.rule,
            grouped(f.message),
        )
    return Group(rec, methods, findings)


def _method_result(passed: bool, applies: bool, jurisdiction: str) -> Text:
    """Pass or fail; another jurisdiction's method is a comparison, never this exchange's breach."""
    if applies:
        return Text("pass", style="green") if passed else Text("fail", style="bold red")
    verdict = "would pass" if passed else "would fail"
    return Text(f"{verdict} ({jurisdiction} only)", style="dim")


def distribution_view(summary: dict[str, Any]) -> Group:
    """A distribution run's summary: per asset (in kind) or the estate's account (fiat)."""
    parts: list[Any] = []
    if summary["mode"] == "in_kind":
        table = Table(
            title=f"Distribution in kind at the record date {summary['record_date']} "
            f"(delivery: {summary['delivery']})",
            title_justify="left",
        )
        for header in (
            "asset",
            "pool",
            "claims",
            "paid",
            "held",
            "undistributed",
            "recovery",
            "accounts",
        ):
            table.add_column(header, justify="left" if header == "asset" else "right")
        for a in summary["assets"]:
            table.add_row(
                a["asset"],
                a["pool"],
                a["claims"],
                a["paid"],
                a["held"],
                a["undistributed"],
                percent(Decimal(a["recovery_ratio"]), Decimal(1), 4),
                f"{a['accounts']:,}",
            )
        parts.append(table)
        parts.append(Text(f"held accounts: {summary['held_accounts']:,}"))
    else:
        table = Table(
            title=f"Distribution in {summary['currency']} by rounds", title_justify="left", show_header=False
        )
        for key in (
            "estate",
            "claims",
            "paid",
            "held",
            "undistributed",
            "forfeited",
            "recovery_ratio",
            "final_percent",
        ):
            table.add_row(key, str(summary.get(key)))
        parts.append(table)
        parts.extend(Text(note) for note in summary["notes"])
    parts.append(Text(f"rounding: {summary['rounding']}", style="dim"))
    if "ledger" in summary:
        ledger = summary["ledger"]
        parts.append(
            Text(
                f"ledger {ledger['path']}: {ledger['recorded']:,} payouts recorded, "
                f"{ledger['already']:,} already there"
            )
        )
    return Group(*parts)


def compensation_view(summary: dict[str, Any]) -> Group:
    """An incident: losses, the funding waterfall, the shortfall and the replenishment need."""
    cur = summary["currency"]
    head = Text.assemble(
        (f"incident {summary['incident']}", "bold"),
        f" ({summary['kind']}, detected {summary['detected_at']}): policy {summary['policy']}, "
        f"scope {summary['scope']}; customer losses valued at {cur} {money(Decimal(summary['total_loss']))}",
    )
    losses = Table(title="Losses", title_justify="left")
    for header in ("asset", "customers' loss (units)", "company's loss (units)", "price", "price basis"):
        losses.add_column(header)
    for asset in sorted(set(summary["customer_loss"]) | set(summary["company_loss"])):
        price = summary["prices"][asset]
        losses.add_row(
            asset,
            summary["customer_loss"].get(asset, "0"),
            summary["company_loss"].get(asset, "0"),
            price["price"],
            price["basis"],
        )
    waterfall = Table(title=f"Funding waterfall ({cur})", title_justify="left")
    for header in ("source", "available", "paid", "note"):
        waterfall.add_column(header, justify="right" if header in ("available", "paid") else "left")
    for step in summary["waterfall"]:
        waterfall.add_row(
            step["source"], money(Decimal(step["available"])), money(Decimal(step["paid"])), step["note"]
        )
    waterfall.add_section()
    waterfall.add_row("funded", "", money(Decimal(summary["funded"])), "")
    waterfall.add_row(
        Text("customers' shortfall", style="bold red" if Decimal(summary["shortfall"]) else ""),
        "",
        money(Decimal(summary["shortfall"])),
        "",
    )
    parts: list[Any] = [
        head,
        losses,
        waterfall,
        Text(f"payout plan: {summary['payout_rows']:,} rows (one per customer and asset)"),
    ]
    unpaid = summary.get("unpaid_rows", [])
    if unpaid:
        paying = summary["payout_rows"] - sum(u["rows"] for u in unpaid)
        parts.append(Text(f"  {paying:,} rows pay something and are the payouts; these pay nothing:"))
        parts.extend(Text(f"  {u['rows']:,} rows: {u['reason']}") for u in unpaid)
    rounding = summary.get("loss_rounding", {})
    for asset, r in rounding.get("assets", {}).items():
        if Decimal(r["rounded_off"]):
            parts.append(
                Text(
                    f"{asset} loss value {r['exact']} {cur} rounded once to {r['rounded']} "
                    f"({r['rounded_off']} rounded off)",
                    style="dim",
                )
            )
    if rounding:
        parts.append(Text(f"rounding: {rounding['rule']}", style="dim"))
    parts.extend(Text(f"warning: {w}", style="yellow") for w in summary.get("warnings", []))
    for regime, need in summary["replenishment"].items():
        parts.append(
            Text(
                f"{regime}: requirement {need['requirement']}, funding after the drawdown "
                f"{need['funding_after']} → replenish {need['replenish']} {cur}"
            )
        )
    if "ledger" in summary:
        ledger = summary["ledger"]
        parts.append(
            Text(
                f"ledger {ledger['path']}: {ledger['recorded']:,} payouts recorded, "
                f"{ledger['already']:,} already there"
            )
        )
    return Group(*parts)


def incidents_table(rows: list[dict[str, Any]]) -> Table:
    """The incident library, one line each."""
    table = Table(title=f"Incident library ({len(rows)} rows)", title_justify="left")
    for header in (
        "id",
        "date",
        "jurisdiction",
        "kind",
        "storage",
        "loss USD",
        "compensated",
        "excluded from fit",
    ):
        table.add_column(header, justify="right" if header == "loss USD" else "left")
    for r in rows:
        loss = money(Decimal(r["loss_usd"])) if r["loss_usd"] else "—"
        table.add_row(
            r["id"],
            r["date"],
            r["jurisdiction"] or "—",
            r["kind"],
            r["storage"],
            loss,
            r["compensated"],
            r["excluded_from_custody_fit"] or "",
        )
    return table


def stress_view(doc: dict[str, Any]) -> Group:
    """Stress results with the fitted model's parameters."""
    cur = doc["currency"]
    table = Table(
        title=f"Annual outflow losses over {doc['years']:,} simulated years (seed {doc['seed']})",
        title_justify="left",
        show_header=False,
    )
    table.add_row("customer crypto", f"{money(Decimal(doc['customer_crypto']))} {cur}")
    table.add_row("mean annual loss", f"{money(Decimal(doc['mean_annual_loss']))} {cur}")
    for level, value in doc["value_at_risk"].items():
        table.add_row(f"VaR {level}", f"{money(Decimal(value))} {cur}")
        table.add_row(
            f"expected shortfall {level}", f"{money(Decimal(doc['expected_shortfall'][level]))} {cur}"
        )
    table.add_row(
        "reserve + eligible insurance", f"{money(Decimal(doc['capacity_reserve_plus_insurance']))} {cur}"
    )
    table.add_row(
        "P(a year's losses exceed it)", percent(Decimal(doc["probability_capacity_short"]), Decimal(1), 3)
    )
    table.add_row("P(any loss in a year)", percent(Decimal(doc["probability_any_loss"]), Decimal(1), 3))
    model = doc["model"]
    freq, sev = model["frequency"], model["severity_share"]
    note = Text(
        f"model: λ = {freq['lambda_per_exchange_year']} incidents per exchange-year "
        f"({freq['incidents']} incidents, {freq['years']}, {freq['exchanges_at_risk']} exchanges at risk; "
        f"dispersion {freq['dispersion_index']}, p = {freq['dispersion_test_p']}); severity share "
        f"Beta({sev['a']}, {sev['b']}), mean {sev['mean']}, KS p = {sev['ks_p']}",
        style="dim",
    )
    return Group(table, note)


def backtest_view(doc: dict[str, Any]) -> Group:
    """Per historical case: custody, loss, requirement, covered."""
    table = Table(
        title=f"Backtest of {doc['regime']} [{doc['status']}] against history", title_justify="left"
    )
    for header in ("incident", "date", "custody JPY", "loss JPY", "required JPY", "covered"):
        table.add_column(header, justify="right" if "JPY" in header else "left")
    for c in doc["cases"]:
        table.add_row(
            c["id"],
            c["date"],
            money(Decimal(c["custody_jpy"])),
            money(Decimal(c["loss_jpy"])),
            money(Decimal(c["requirement_jpy"])),
            Text("yes", style="green") if c["covered"] else Text("no", style="red"),
        )
    assumptions = ", ".join(f"{k} {v}" for k, v in doc["assumptions"].items())
    # the shares recomputed exactly from the rows shown and rounded for display (the JSON's
    # shares are floored to 4 places: 2 of 12 is 0.1666 there, 16.67% here)
    cases = doc["cases"]
    covered = sum(1 for c in cases if c["covered"])
    lost = sum((Decimal(c["loss_jpy"]) for c in cases), Decimal(0))
    met = sum((min(Decimal(c["requirement_jpy"]), Decimal(c["loss_jpy"])) for c in cases), Decimal(0))
    summary = Text(
        f"covered: {covered} of {len(cases)} incidents ({percent(Decimal(covered), Decimal(len(cases)))}), "
        f"{percent(met, lost)} of the value lost (assumptions: {assumptions})"
    )
    return Group(table, summary)


def calibration_view(doc: dict[str, Any]) -> Group:
    """The calibrated parameters and their cost across the market."""
    lines = [
        f"target: {doc['target']}",
        f"multiplier on the custody rates: {doc['multiplier_on_custody_rates']}",
        *(f"  {k} = {v}" for k, v in doc["parameters"].items()),
        f"achieved: {doc['achieved']}",
        f"cost across the market: ¥{money(Decimal(doc['market_cost_jpy']))} "
        f"(¥{money(Decimal(doc['market_cost_at_defaults_jpy']))} at the default parameters)",
    ]
    warnings = [Text(f"warning: {w}", style="yellow") for w in doc.get("warnings", [])]
    return Group(*(Text(line) for line in lines), *warnings, Text(doc["method"], style="dim"))


NUMERIC = re.compile(r"^[-+]?[\d,]*\.?\d+(?:[ %]|\s?[A-Z]{3})?$|^[—-]$|^$")
"""A cell that is a number (``1,234.5``, ``16.67%``, ``12 JPY``, ``—``): never cut, never wrapped."""

TEXT_MIN = 10
"""Narrowest a text column is squeezed to before the table is stacked instead."""


def fit(renderable: RenderableType, width: int) -> RenderableType:
    """``renderable`` with every table made to fit ``width`` columns without cutting a number.

    Number columns keep their full width; text columns wrap; when even that does not fit,
    the table is stacked (one block of ``header: value`` lines per row). Rich's own fitting
    would cut cells with an ellipsis (``13,5…``), which must never happen to an amount.
    """
    if isinstance(renderable, Group):
        return Group(*(fit(r, width) for r in renderable.renderables))
    if isinstance(renderable, Table):
        return _fit_table(renderable, width)
    return renderable


def _plain(cell: Any) -> str:
    return cell.plain if isinstance(cell, Text) else str(cell)


def _fit_table(table: Table, width: int) -> RenderableType:
    columns = table.columns
    if not columns or table.box is None:
        return table
    bodies = [[_plain(c) for c in column._cells] for column in columns]
    headers = [_plain(column.header) for column in columns]
    numeric = [all(NUMERIC.match(v.strip()) for v in body) and any(body) for body in bodies]
    natural = [
        max([cell_len(line) for v in [h, *body] for line in v.splitlines() or [""]])
        for h, body in zip(headers, bodies, strict=True)
    ]
    floors = [
        max([cell_len(v) for v in [*body, *header.split()]] or [1])
        if is_number
        else min(natural_width, TEXT_MIN)
        for header, body, is_number, natural_width in zip(headers, bodies, numeric, natural, strict=True)
    ]
    overhead = 3 * len(columns) + 1  # a space each side of every cell and the vertical rules
    available = width - overhead
    if sum(floors) > available:
        parts = _column_groups(floors, width)
        if parts is None:
            return _stacked(table, headers, bodies)
        return Group(*(_fit_table(_part(table, part, first=n == 0), width) for n, part in enumerate(parts)))
    widths = list(natural)
    for i, is_number in enumerate(numeric):
        if is_number:
            widths[i] = floors[i]  # its header wraps above it instead of widening it
    while sum(widths) > available:
        shrinkable = [i for i in range(len(widths)) if not numeric[i] and widths[i] > floors[i]]
        widest = max(shrinkable, key=lambda i: widths[i])
        widths[widest] -= 1
    for column, column_width in zip(columns, widths, strict=True):
        column.width = column_width
        column.overflow = "fold"
        column.no_wrap = False
    return table


def _column_groups(floors: list[int], width: int) -> list[list[int]] | None:
    """Columns split into tables that each fit, the first (key) column repeated in every one.

    ``None`` when the key column and any other column do not fit side by side.
    """
    parts: list[list[int]] = []
    current = [0]
    for index in range(1, len(floors)):
        candidate = [*current, index]
        if sum(floors[i] for i in candidate) + 3 * len(candidate) + 1 <= width:
            current = candidate
        elif len(current) > 1:
            parts.append(current)
            current = [0, index]
            if sum(floors[i] for i in current) + 3 * len(current) + 1 > width:
                return None
        else:
            return None
    parts.append(current)
    return parts


def _part(table: Table, indexes: list[int], first: bool) -> Table:
    """The columns ``indexes`` of ``table`` as a table of their own (the title on the first)."""
    title = _plain(table.title) if table.title else None
    part = Table(
        title=title if first else (f"{title} (continued)" if title else None),
        title_justify=table.title_justify,
        box=table.box,
        show_lines=table.show_lines,
    )
    columns = [table.columns[i] for i in indexes]
    for column in columns:
        part.add_column(column.header, justify=column.justify, style=column.style)
    for row in range(len(columns[0]._cells)):
        part.add_row(*(column._cells[row] for column in columns))
    return part


def _stacked(table: Table, headers: list[str], bodies: list[list[str]]) -> Group:
    """One block per row, ``header  value`` a line: for tables too wide for the terminal."""
    blocks: list[RenderableType] = []
    if table.title:
        blocks.append(Text(_plain(table.title), style="bold"))
    key_width = max(cell_len(" ".join(h.split())) for h in headers)
    for row in range(len(bodies[0]) if bodies else 0):
        grid = Table.grid(padding=(0, 1))
        grid.add_column(style="dim", width=min(key_width, 24), overflow="fold")
        grid.add_column(overflow="fold")
        for header, body in zip(headers, bodies, strict=True):
            grid.add_row(" ".join(header.split()), body[row])
        blocks.extend([grid, Text("")])
    return Group(*blocks)
