"""The explanation tree every number carries: value, formula, inputs, citation, children.

The CLI table, the JSON output, the API and the report all render the same
:class:`Component`, so a number means the same thing in every front (DESIGN.md, "Every
number explains itself").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from caspr.citation import Citation
from caspr.money import Amount, canonical


@dataclass(frozen=True, slots=True)
class Component:
    """One named amount and how it was obtained."""

    name: str
    amount: Decimal
    currency: str
    formula: str
    inputs: tuple[tuple[str, str], ...] = ()
    citation: Citation | None = None
    children: tuple[Component, ...] = field(default=())

    @property
    def money(self) -> Amount:
        """The amount with its currency, for arithmetic that must not mix units."""
        return Amount(self.amount, self.currency)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; amounts and inputs are decimal strings."""
        return {
            "name": self.name,
            "amount": canonical(self.amount),
            "currency": self.currency,
            "formula": self.formula,
            "inputs": dict(self.inputs),
            "citation": str(self.citation) if self.citation else None,
            "url": self.citation.url if self.citation else None,
            "children": [child.to_dict() for child in self.children],
        }

    def walk(self, depth: int = 0) -> list[tuple[int, Component]]:
        """Every component of the tree with its depth, parents before children."""
        rows = [(depth, self)]
        for child in self.children:
            rows.extend(child.walk(depth + 1))
        return rows
