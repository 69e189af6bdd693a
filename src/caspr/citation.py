"""A reference to a legal text, attached to every rule and every regulatory number."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class Status(StrEnum):
    """How firm a rule or number is (primary or secondary source: docs/sources.md)."""

    IN_FORCE = "in_force"
    PROPOSED = "proposed"
    UNVERIFIED = "unverified"


class Citation(BaseModel):
    """Instrument, article and where to read it, with the status of what it supports."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    instrument: str
    article: str
    url: str | None = None
    status: Status = Status.IN_FORCE
    note: str | None = None
    needs_primary_check: bool = False
    """The value rests on a secondary source; every output that shows it says so."""
    illustrative: bool = False
    """An illustrative default with no published source (a proposed rule's placeholder)."""

    def __str__(self) -> str:
        text = f"{self.instrument} {self.article}".strip()
        if self.status is not Status.IN_FORCE:
            text += f" [{self.status.value}]"
        if self.illustrative:
            text += " [illustrative default, no published source]"
        if self.needs_primary_check:
            text += " [needs primary check]"
        return text
