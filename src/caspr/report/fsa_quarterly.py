"""Japan's quarterly report on the management of users' property (利用者財産の管理に関する報告書).

PSA Art. 63-14(2) with Ordinance Art. 38: the report is made in 別紙様式第十三号 for each
three months of the business year and filed with the FSA Commissioner within one month,
with the documents Art. 38(2) lists. This module fills the fields a snapshot can source,
exactly (``Decimal``, from the same :class:`~caspr.engine.Engine` exposure ``caspr custody``
reads), and says of every other field that the snapshot cannot fill it: a missing figure
is ``None`` with its reason, never a zero.

The fields, their labels in Japanese and English, where each figure comes from in the
snapshot, and their legal basis are in the form definition
``caspr/params/forms/jp_users_property_report.yaml``. The form's own layout was not read
(``needs_primary_check``), and every output says so.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from caspr.citation import Citation, Status
from caspr.engine import AssetExposure, Engine
from caspr.money import AssetKind, canonical, quantize
from caspr.params import ParameterView, ParamValue, load_parameters
from caspr.rules import jp_custody
from caspr.rules.regime import Context
from caspr.snapshot.loader import Snapshot
from caspr.yamltext import load_yaml

FORM_FILE = Path(__file__).parent.parent / "params" / "forms" / "jp_users_property_report.yaml"
FORM_ID = "fsa-quarterly"
"""The ``--form`` value of ``caspr report``."""
SUFFIXES = (".html", ".pdf", ".csv")
SHARE_PLACES = 6
"""The non-cold share to 6 places (a percentage with 4 decimals), rounded up: never understated."""
CRYPTO_KINDS = jp_custody.CRYPTO_ASSET_KINDS
"""Assets reported as 暗号資産: ``crypto``, and ``stablecoin`` conservatively (its class is unstated)."""


class Text(BaseModel):
    """A label in each language (English is the fallback)."""

    model_config = ConfigDict(frozen=True, extra="allow")
    ja: str
    en: str

    def get(self, language: str) -> str:
        """The text in ``language``, else English."""
        extra = {str(k): str(v) for k, v in (self.model_extra or {}).items()}
        return {"ja": self.ja, "en": self.en, **extra}.get(language, self.en)


class Reference(BaseModel):
    """A cited instrument and article (as in parameter files), with its verification mark."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    instrument: str
    article: str
    url: str | None = None
    note: str | None = None
    needs_primary_check: bool = False

    def citation(self) -> Citation:
        """The project's citation object for this reference."""
        return Citation(
            instrument=self.instrument,
            article=self.article,
            url=self.url,
            status=Status.IN_FORCE,
            note=self.note,
            needs_primary_check=self.needs_primary_check,
        )


class FieldSpec(BaseModel):
    """One field of the form: labels, where its figure comes from, and its legal basis."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    id: str
    label: Text
    source: str
    """``none`` (a snapshot cannot fill it) or the key the module computes it from."""
    source_text: str | None = None
    reason: Text | None = None
    """Why a ``none`` field cannot be filled."""
    basis: str
    """A key of ``references``."""


class SectionSpec(BaseModel):
    """A section of the form: its fields, repeated per fiat or crypto asset when ``per`` is set."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    per: str | None = None
    fields: tuple[FieldSpec, ...]


class AttachmentSpec(BaseModel):
    """One item of Ordinance Art. 38(2): when it is required and what it is."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    item: str
    applies: str
    due: str
    when: Text
    document: Text
    needs_primary_check: bool = False
    note: str | None = None


class Schedule(BaseModel):
    """Ordinance Art. 38: period length and filing deadlines, in months."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    period_months: int
    due_months_after_period: int
    financial_statements_due_months_after_period: int


class FormDefinition(BaseModel):
    """The content of the form definition file."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    id: str
    description: str
    status: Status
    last_verified: dt.date
    needs_primary_check: bool
    check_note: str
    title: Text
    addressee: Text
    references: dict[str, Reference]
    schedule: Schedule
    labels: dict[str, Text]
    sections: dict[str, SectionSpec]
    attachments: tuple[AttachmentSpec, ...]

    def label(self, key: str, language: str) -> str:
        """A page label in ``language``."""
        return self.labels[key].get(language)


@cache
def definition() -> FormDefinition:
    """The form definition (validated once)."""
    return FormDefinition.model_validate(load_yaml(FORM_FILE))


class State(StrEnum):
    """Whether a figure could be filled from the snapshot."""

    SOURCED = "sourced"
    NOT_SOURCED = "not_sourced"


@dataclass(frozen=True, slots=True)
class Figure:
    """One filled (or unfillable) field: ``value`` None means not sourced, never zero."""

    spec: FieldSpec
    value: Decimal | str | dt.date | None
    unit: str | None = None
    reason: Text | None = None

    @property
    def state(self) -> State:
        """Sourced when there is a value."""
        return State.NOT_SOURCED if self.value is None else State.SOURCED


@dataclass(frozen=True, slots=True)
class AssetRows:
    """The figures of one section for one asset."""

    asset: str
    kind: AssetKind
    figures: tuple[Figure, ...]

    def get(self, field_id: str) -> Figure:
        """The figure of ``field_id``."""
        return next(f for f in self.figures if f.spec.id == field_id)


@dataclass(frozen=True, slots=True)
class Attachment:
    """One Art. 38(2) item and whether this report needs it (None: the snapshot cannot tell)."""

    spec: AttachmentSpec
    required: bool | None


@dataclass(frozen=True, slots=True)
class QuarterlyReport:
    """The figures of the users' property report for one snapshot."""

    form: FormDefinition
    exchange: str
    name: str
    as_of: dt.date
    currency: str
    header: tuple[Figure, ...]
    money: tuple[AssetRows, ...]
    crypto: tuple[AssetRows, ...]
    cold: tuple[Figure, ...]
    guarantee: tuple[AssetRows, ...]
    audit: tuple[Figure, ...]
    attachments: tuple[Attachment, ...]
    parameters: tuple[ParamValue, ...]
    excluded_epi: tuple[str, ...] = ()
    stablecoins: tuple[str, ...] = ()
    reading: str | None = None
    """The reading of the Art. 27(2) base applied when stablecoins of unstated class are held."""

    def all_figures(self) -> list[tuple[str, str | None, Figure]]:
        """Every figure as (section, asset or None, figure), in form order."""
        out: list[tuple[str, str | None, Figure]] = [("header", None, f) for f in self.header]
        for section, rows in (("money", self.money), ("crypto", self.crypto)):
            out += [(section, r.asset, f) for r in rows for f in r.figures]
        out += [("cold", None, f) for f in self.cold]
        out += [("guarantee", r.asset, f) for r in self.guarantee for f in r.figures]
        out += [("audit", None, f) for f in self.audit]
        return out

    def not_sourced(self) -> list[tuple[str, str | None, Figure]]:
        """The figures a snapshot cannot fill, in form order."""
        return [entry for entry in self.all_figures() if entry[2].value is None]


def _specs(section: str) -> tuple[FieldSpec, ...]:
    return definition().sections[section].fields


def _unsourced(spec: FieldSpec, reason: Text | None = None) -> Figure:
    return Figure(spec, None, None, reason or spec.reason)


def _because(ja: str, en: str) -> Text:
    return Text(ja=ja, en=en)


NOT_JPY = _because(
    "報告通貨が円ではないため本邦通貨換算額は記入できません（caspr は通貨を換算しません）。",
    "The reporting currency is not JPY, so yen values cannot be filled (caspr does not convert).",
)
NO_FIAT = _because(
    "スナップショットに法定通貨の資産（kind: fiat）がないため、利用者の金銭の額は記入できません。",
    "The snapshot lists no fiat asset (kind: fiat), so users' money cannot be filled.",
)
NO_CRYPTO = _because(
    "スナップショットに暗号資産がありません。",
    "The snapshot lists no crypto-asset.",
)


def _header(snapshot: Snapshot) -> tuple[Figure, ...]:
    x = snapshot.exchange
    values: dict[str, Any] = {
        "exchange.name": x.name,
        "exchange.as_of": x.as_of_date,
        "exchange.reporting_currency": x.reporting_currency.value,
    }
    return tuple(
        Figure(s, values[s.source]) if s.source in values else _unsourced(s) for s in _specs("header")
    )


def _money_rows(exposure: tuple[AssetExposure, ...]) -> tuple[AssetRows, ...]:
    """Users' money per fiat asset (PSA 63-11(1), Ordinance Art. 26, Art. 33 books)."""
    fiat = [a for a in exposure if a.kind is AssetKind.FIAT]
    if not fiat:
        return (AssetRows("—", AssetKind.FIAT, tuple(_unsourced(s, NO_FIAT) for s in _specs("money"))),)
    rows = []
    for a in fiat:
        trust = a.customer_fiat_trust
        values = {
            "balances.liabilities": a.liabilities,
            "wallets.customer_fiat_trust": trust,
            "wallets.customer_fiat_bank": a.customer_fiat - trust,
            "computed.money_trust_difference": trust - a.liabilities,
        }
        rows.append(
            AssetRows(a.asset, a.kind, tuple(Figure(s, values[s.source], a.asset) for s in _specs("money")))
        )
    return tuple(rows)


def _crypto_rows(exposure: tuple[AssetExposure, ...], jpy: bool) -> tuple[AssetRows, ...]:
    """Users' crypto per asset by management method (Ordinance Art. 27(1), (2); Art. 33 books)."""
    rows = []
    for a in exposure:
        if a.kind not in CRYPTO_KINDS:
            continue
        held = a.customer_hot + a.customer_cold + a.customer_custodian
        values: dict[str, Decimal] = {
            "balances.liabilities": a.liabilities,
            "wallets.customer_cold": a.customer_cold,
            "wallets.customer_hot": a.customer_hot,
            "wallets.customer_custodian": a.customer_custodian,
            "computed.segregated_total": held,
            "computed.quantity_difference": held - a.liabilities,
        }
        priced = {"assets.price": a.price, "computed.value_owed": a.liabilities * a.price}
        figures = []
        for s in _specs("crypto"):
            if s.source in values:
                figures.append(Figure(s, values[s.source], a.asset))
            elif jpy:
                figures.append(Figure(s, priced[s.source], "JPY"))
            else:
                figures.append(_unsourced(s, NOT_JPY))
        rows.append(AssetRows(a.asset, a.kind, tuple(figures)))
    return tuple(rows)


def _cold(ctx: Context, jpy: bool) -> tuple[tuple[Figure, ...], str | None]:
    """Ordinance Art. 27(2): yen value held other than cold against all users' crypto managed.

    The figures of :func:`caspr.rules.jp_custody.cold_storage`, from its own
    :func:`~caspr.rules.jp_custody.non_cold_readings`: ``epi`` left out, custodian holdings
    counted as cold, and, when the snapshot holds a ``stablecoin`` of unstated class, the
    stricter of the two readings (returned with the figures). The share is rounded up
    (never understated).
    """
    specs = _specs("cold")
    if not jpy:
        return tuple(_unsourced(s, NOT_JPY) for s in specs), None
    if not any(a.kind in CRYPTO_KINDS for a in ctx.exposure.assets):
        return tuple(_unsourced(s, NO_CRYPTO) for s in specs), None
    readings = jp_custody.non_cold_readings(ctx)
    held = [r for r in readings if r[2] > 0]
    reading, hot, managed = max(held, key=lambda r: r[1] / r[2]) if held else readings[0]
    share = quantize(hot / managed, SHARE_PLACES, ROUND_CEILING) if managed else None
    values: dict[str, Decimal | None] = {
        "computed.non_cold_value": hot,
        "computed.managed_value": managed,
        "computed.non_cold_share": share,
    }
    nothing_held = _because("管理する利用者の暗号資産がありません。", "No users' crypto-assets are held.")
    figures = tuple(
        _unsourced(s, nothing_held)
        if values[s.source] is None
        else Figure(s, values[s.source], None if s.source.endswith("share") else "JPY")
        for s in specs
    )
    return figures, reading if len(readings) > 1 else None


def _guarantee_rows(exposure: tuple[AssetExposure, ...], ratio: Decimal) -> tuple[AssetRows, ...]:
    """PSA 63-11-2 per crypto asset: quantity required (hot × ratio) against safely managed guarantee."""
    rows = []
    for a in exposure:
        if a.kind not in CRYPTO_KINDS:
            continue
        required = a.customer_hot * ratio
        safe = a.guarantee - a.guarantee_hot
        values = {
            "computed.guarantee_required": required,
            "computed.guarantee_safe": safe,
            "wallets.guarantee_hot": a.guarantee_hot,
            "computed.guarantee_difference": safe - required,
        }
        rows.append(
            AssetRows(
                a.asset, a.kind, tuple(Figure(s, values[s.source], a.asset) for s in _specs("guarantee"))
            )
        )
    return tuple(rows)


def _attachments(exposure: tuple[AssetExposure, ...]) -> tuple[Attachment, ...]:
    """Which Art. 38(2) items this report needs, as far as the snapshot tells (None: it cannot)."""
    crypto = [a for a in exposure if a.kind in CRYPTO_KINDS]
    user_crypto = any(
        a.customer_hot + a.customer_cold + a.customer_custodian or a.liabilities for a in crypto
    )
    money = [a for a in exposure if a.kind is AssetKind.FIAT]
    known: dict[str, bool | None] = {
        "manages_crypto": bool(user_crypto or any(a.guarantee for a in crypto)),
        "manages_money": any(a.liabilities or a.customer_fiat for a in money) if money else None,
        "manages_user_crypto": user_crypto,
        "manages_guarantee": any(a.guarantee for a in crypto),
        "audited": None,
    }
    return tuple(Attachment(spec, known[spec.applies]) for spec in definition().attachments)


def build(snapshot: Snapshot, engine: Engine | None = None) -> QuarterlyReport:
    """The report's figures from ``snapshot`` (as of its date), with the jp-custody parameters in force.

    Raises:
        NoRuleInForce: the snapshot's date is before the Japanese custody rules' first value.
    """
    form = definition()
    whole = (engine or Engine(snapshot)).exposure()
    exposure = whole.assets
    as_of = snapshot.exchange.as_of_date
    params = ParameterView("jp-custody", load_parameters(jp_custody.REGIME.parameters_dir), as_of)
    ratio = params("guarantee_ratio")
    limit = params("max_non_cold_share")
    jpy = snapshot.exchange.reporting_currency.value == "JPY"
    audit = tuple(_unsourced(s) for s in _specs("audit"))
    cold, reading = _cold(Context(snapshot, whole, {}, as_of), jpy)
    return QuarterlyReport(
        form=form,
        exchange=snapshot.exchange.id,
        name=snapshot.exchange.name,
        as_of=as_of,
        currency=snapshot.exchange.reporting_currency.value,
        header=_header(snapshot),
        money=_money_rows(exposure),
        crypto=_crypto_rows(exposure, jpy),
        cold=cold,
        guarantee=_guarantee_rows(exposure, ratio.value),
        audit=audit,
        attachments=_attachments(exposure),
        parameters=(limit, ratio),
        excluded_epi=tuple(sorted(a.asset for a in exposure if a.kind is AssetKind.EPI)),
        stablecoins=tuple(sorted(a.asset for a in exposure if a.kind is AssetKind.STABLECOIN)),
        reading=reading,
    )


def value_text(value: Decimal | str | dt.date | None) -> str:
    """A figure's canonical text (exact decimal, ISO date); empty when not sourced."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return canonical(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


CSV_COLUMNS = (
    "section",
    "field",
    "asset",
    "label_ja",
    "label_en",
    "value",
    "unit",
    "state",
    "source",
    "basis",
    "needs_primary_check",
    "reason",
)


def to_csv(report: QuarterlyReport, language: str) -> str:
    """Every figure as one CSV row, then the attachments: an empty value is ``not_sourced``, never 0."""
    form = report.form
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for section, asset, f in report.all_figures():
        basis = form.references[f.spec.basis].citation()
        writer.writerow(
            [
                section,
                f.spec.id,
                asset or "",
                f.spec.label.ja,
                f.spec.label.en,
                value_text(f.value),
                f.unit or "",
                f.state.value,
                f.spec.source_text or "",
                str(basis),
                "true" if form.needs_primary_check else "false",
                f.reason.get(language) if f.reason else "",
            ]
        )
    for a in report.attachments:
        state = "unknown" if a.required is None else ("required" if a.required else "not_required")
        writer.writerow(
            [
                "attachments",
                f"item_{a.spec.item}",
                "",
                a.spec.document.ja,
                a.spec.document.en,
                "",
                "",
                state,
                a.spec.when.get(language),
                str(form.references["attachments"].citation()),
                "true" if (form.needs_primary_check or a.spec.needs_primary_check) else "false",
                a.spec.note or "",
            ]
        )
    return buffer.getvalue()


def check_target(path: Path, language: str) -> None:
    """Refuse, before any work, an output other than .html, .pdf or .csv, or an unknown language.

    Raises:
        ValueError: the suffix or the language is not known.
    """
    from caspr.report.i18n import languages  # noqa: PLC0415

    if path.suffix.lower() not in SUFFIXES:
        given = path.suffix or "no suffix"
        msg = f"{path}: the {FORM_ID} form is written as .html, .pdf or .csv, not {given!r}"
        raise ValueError(msg)
    if language not in languages():
        msg = f"no report language {language!r} (known: {', '.join(languages())})"
        raise ValueError(msg)


def render(report: QuarterlyReport, language: str) -> str:
    """The report in the form's layout, as one self-contained HTML document."""
    from caspr.report import html  # noqa: PLC0415 - Jinja2: loaded when a report is written
    from caspr.report.i18n import Language  # noqa: PLC0415

    lang = Language(language)
    cite = html.Citations()
    form = report.form
    return (
        html.environment()
        .get_template("fsa_quarterly.html.j2")
        .render(
            q=report,
            form=form,
            lang=lang,
            label=lambda key: form.label(key, language),
            text=lambda t: t.get(language) if t is not None else "",
            basis=lambda key: cite(form.references[key].citation()),
            cite=cite,
            version=html.caspr_version(),
            figure=lambda f: _figure_html(f, lang, form.label("not_sourced", language)),
            t=lang.t,
        )
    )


def _figure_html(f: Figure, lang: Any, not_sourced: str) -> Any:
    """A figure's cell: exact amount (with ``data-amount``), date, text, or the not-sourced mark."""
    from markupsafe import Markup  # noqa: PLC0415

    if f.value is None:
        return Markup('<span class="not-sourced" data-state="not_sourced">{}</span>').format(not_sourced)
    if isinstance(f.value, dt.date):
        return Markup("<span>{}</span>").format(lang.date(f.value))
    if isinstance(f.value, str):
        return Markup("<span>{}</span>").format(f.value)
    if f.spec.source.endswith("share"):
        text = lang.percent(f.value)
    elif f.unit == "JPY":
        text = lang.money(f.value, "JPY")
    else:
        text = f"{lang.number(f.value)} {f.unit}" if f.unit else lang.number(f.value)
    return Markup('<span class="amount" data-amount="{}">{}</span>').format(canonical(f.value), text)


def write(path: Path, report: QuarterlyReport, language: str) -> None:
    """The report to ``path``: HTML or PDF in the form's layout, or CSV of the figures; atomically.

    Raises:
        pdf.NoPdfEngine: a PDF was asked for and no PDF engine is installed.
    """
    from caspr import report as reports  # noqa: PLC0415

    check_target(path, language)
    csv_out = path.suffix.lower() == ".csv"
    # a byte order mark so that spreadsheet programs read the Japanese labels as UTF-8
    document = "\ufeff" + to_csv(report, language) if csv_out else render(report, language)
    reports.write(path, document)
