"""Dated, cited parameters in the style of OpenFisca: one YAML file per parameter.

A parameter file::

    description: Share of customer crypto that may be held other than cold
    unit: ratio            # ratio | currency | days | count
    status: in_force       # in_force | proposed | unverified
    values:
      2020-05-01:
        value: "0.05"      # a quoted decimal: read from text, never a float
        reference:
          instrument: 暗号資産交換業者に関する内閣府令 (Cabinet Office Ordinance)
          article: "27(2)"
          url: https://...

Values are keyed by effective date; a ``value: null`` ends the rule. Each dated value is
valid until the day before the next one, so the history keeps both dates of every span
(e.g. a PSA value ending when the FIEA takes it over). A change announced but not yet
dated is recorded under ``pending`` (what, when expected, source) and shown with the
value; it moves into ``values`` once dated. ``needs_primary_check: true`` marks a value
resting on a secondary source, ``illustrative: true`` (with a ``rationale``) a default
that no published source gives; both are carried by the citation into every output. Asking for a date
before the first value or after an end raises :class:`~caspr.errors.NoRuleInForce`,
never a silent zero. A value without a reference does not load. A *reform* (``--params
FILE``) overrides values for one run, and every overridden value says so.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from caspr.citation import Citation, Status
from caspr.errors import InputError, NoRuleInForce, Problem
from caspr.money import parse_decimal
from caspr.yamltext import load_yaml


class Reference(BaseModel):
    """Where a value comes from (required on every value)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    instrument: str
    article: str
    url: str | None = None
    note: str | None = None


class DatedValue(BaseModel):
    """One value with its reference; ``value`` None ends the rule."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    value: Decimal | None
    reference: Reference
    status: Status | None = None

    @field_validator("value", mode="before")
    @classmethod
    def _text_only(cls, value: object) -> object:
        if value is None:
            return None
        if isinstance(value, int | Decimal):
            return Decimal(value)
        if not isinstance(value, str):
            msg = "value must be a quoted decimal string"
            raise ValueError(msg)
        return parse_decimal(value)


class PendingChange(BaseModel):
    """A change announced but not yet dated (e.g. the PSA → FIEA move, expected ~2027)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    expected: str
    """When it is expected, in words ("around 2027; no date enacted")."""
    change: str
    reference: Reference


class Plausible(BaseModel):
    """The range outside which a value (calibrated or overridden) is questionable, and why."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    min: Decimal
    max: Decimal
    reason: str

    def outside(self, value: Decimal) -> bool:
        """True when ``value`` leaves the range."""
        return not self.min <= value <= self.max


class ParameterFile(BaseModel):
    """The content of one parameter YAML file."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    description: str
    unit: str
    status: Status
    last_verified: dt.date | None = None
    needs_primary_check: bool = False
    illustrative: bool = False
    rationale: str | None = None
    """Why an illustrative default has the value it has (required when ``illustrative``)."""
    pending: tuple[PendingChange, ...] = ()
    plausible: Plausible | None = None
    values: dict[dt.date, DatedValue]

    @model_validator(mode="after")
    def _illustrative_says_why(self) -> ParameterFile:
        if self.illustrative and not (self.rationale or "").strip():
            msg = "an illustrative parameter must give its rationale"
            raise ValueError(msg)
        return self


@dataclass(frozen=True, slots=True)
class Span:
    """One dated value of a parameter's history: from ``start`` to ``end`` inclusive (None: open)."""

    start: dt.date
    end: dt.date | None
    value: Decimal | None
    reference: Reference


@dataclass(frozen=True, slots=True)
class ParamValue:
    """A parameter's value at a date, with its citation; ``overridden`` by a reform."""

    name: str
    value: Decimal
    citation: Citation
    effective: dt.date
    overridden: bool = False
    valid_until: dt.date | None = None
    """The last day this value applies (None: no end dated yet)."""
    pending: tuple[PendingChange, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: value, citation and the marks every output carries."""
        return {
            "parameter": self.name,
            "value": f"{self.value:f}",
            "effective": self.effective.isoformat(),
            "valid_until": self.valid_until.isoformat() if self.valid_until else None,
            "citation": str(self.citation),
            "url": self.citation.url,
            "status": self.citation.status.value,
            "needs_primary_check": self.citation.needs_primary_check,
            "illustrative": self.citation.illustrative,
            "overridden": self.overridden,
            "pending": [
                {
                    "expected": c.expected,
                    "change": c.change,
                    "source": f"{c.reference.instrument} {c.reference.article}",
                }
                for c in self.pending
            ],
        }


@dataclass(frozen=True, slots=True)
class Parameter:
    """A named parameter and its dated values."""

    name: str
    file: ParameterFile

    def coverage_start(self) -> dt.date:
        """The first date the parameter has a value."""
        return min(self.file.values)

    def history(self) -> list[Span]:
        """Every dated value with its start and end (the day before the next value starts)."""
        dates = sorted(self.file.values)
        ends: list[dt.date | None] = [d - dt.timedelta(days=1) for d in dates[1:]]
        return [
            Span(start, end, self.file.values[start].value, self.file.values[start].reference)
            for start, end in zip(dates, [*ends, None], strict=True)
        ]

    def at(self, date: dt.date) -> ParamValue:
        """The value in force on ``date``.

        Raises:
            NoRuleInForce: ``date`` is before the first value or after the rule ended.
        """
        effective = [d for d in self.file.values if d <= date]
        if not effective:
            msg = f"{self.name}: no rule in force on {date} (first value {self.coverage_start()})"
            raise NoRuleInForce(msg)
        start = max(effective)
        dated = self.file.values[start]
        if dated.value is None:
            msg = f"{self.name}: the rule ended on {start}; no rule in force on {date}"
            raise NoRuleInForce(msg)
        ref = dated.reference
        citation = Citation(
            instrument=ref.instrument,
            article=ref.article,
            url=ref.url,
            status=dated.status or self.file.status,
            note=ref.note,
            needs_primary_check=self.file.needs_primary_check,
            illustrative=self.file.illustrative,
        )
        span = next(s for s in self.history() if s.start == start)
        return ParamValue(self.name, dated.value, citation, start, False, span.end, self.file.pending)


def _iso_keys(raw: Any) -> Any:
    """Dates as ISO text in ``values`` keys, so errors name ``values.2020-05-01``."""
    if isinstance(raw, dict) and isinstance(raw.get("values"), dict):
        values = {k.isoformat() if isinstance(k, dt.date) else k: v for k, v in raw["values"].items()}
        return {**raw, "values": values}
    return raw


def load_parameters(folder: Path) -> dict[str, Parameter]:
    """Every ``*.yaml`` parameter file in ``folder``, by file stem.

    Raises:
        InputError: a file that does not match the schema (e.g. a value without reference).
    """
    params: dict[str, Parameter] = {}
    problems: list[Problem] = []
    for path in sorted(folder.glob("*.yaml")):
        try:
            params[path.stem] = Parameter(path.stem, ParameterFile.model_validate(_iso_keys(load_yaml(path))))
        except ValidationError as exc:
            problems.extend(
                Problem(str(path), None, ".".join(str(p) for p in e["loc"]), e["msg"]) for e in exc.errors()
            )
    if problems:
        raise InputError(problems)
    return params


class ParameterView:
    """All of a regime's parameters at one date, with a reform's overrides applied."""

    def __init__(
        self,
        regime: str,
        params: dict[str, Parameter],
        date: dt.date,
        overrides: dict[str, Decimal] | None = None,
        source: str = "--params",
    ) -> None:
        self.regime = regime
        self.date = date
        self._params = params
        self._overrides = overrides or {}
        self._source = source
        unknown = sorted(set(self._overrides) - set(params))
        if unknown:
            raise InputError(
                [Problem(source, None, f"{regime}.{name}", "unknown parameter") for name in unknown]
            )

    def __call__(self, name: str) -> ParamValue:
        """The value of ``name`` at this view's date (an override wins, and says so)."""
        base = self._params[name].at(self.date)
        if name in self._overrides:
            citation = Citation(
                instrument=f"override from {self._source}",
                article=name,
                status=Status.PROPOSED,
                note=f"replaces {base.value} ({base.citation})",
            )
            return ParamValue(name, self._overrides[name], citation, self.date, overridden=True)
        return base

    def value(self, name: str) -> Decimal:
        """Just the number."""
        return self(name).value

    def overridden(self) -> list[ParamValue]:
        """The overridden values in force at this date, sorted by name."""
        return [self(name) for name in sorted(self._overrides)]

    def all(self) -> list[ParamValue]:
        """Every parameter at this date (raises if any is not in force)."""
        return [self(name) for name in sorted(self._params)]


def load_overrides(path: Path) -> dict[str, dict[str, Decimal]]:
    """A reform file: ``{regime_id: {parameter: "decimal"}}``.

    Raises:
        InputError: not that shape, or a value that is not a quoted decimal.
    """
    raw: Any = load_yaml(path)
    problems: list[Problem] = []
    result: dict[str, dict[str, Decimal]] = {}
    if not isinstance(raw, dict):
        raise InputError([Problem(str(path), None, None, "expected a mapping of regime id to parameters")])
    for regime, values in raw.items():
        if not isinstance(values, dict):
            problems.append(Problem(str(path), None, str(regime), "expected a mapping of parameter to value"))
            continue
        for name, text in values.items():
            try:
                result.setdefault(str(regime), {})[str(name)] = parse_decimal(str(text))
            except ValueError as exc:
                problems.append(Problem(str(path), None, f"{regime}.{name}", str(exc)))
    if problems:
        raise InputError(problems)
    return result
