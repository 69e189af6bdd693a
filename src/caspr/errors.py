"""The errors caspr raises on purpose, each with enough context to act on."""

from __future__ import annotations

from dataclasses import dataclass

TEXT_DOCUMENTS = (".yaml", ".yml", ".json")
"""Files whose ``row`` is a line of text (a CSV's row is its line too, but it is called a row)."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with an input: which file, which row and column, and why.

    ``row`` is the 1-based line of a CSV file (the header is line 1, so the first data
    row is line 2), the 1-based row of a Parquet file, or ``None`` for a whole file or a
    YAML document; ``column`` is a column name or a dotted YAML key path.
    """

    file: str
    row: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", {'line' if self.file.endswith(TEXT_DOCUMENTS) else 'row'} {self.row}"
        if self.column is not None:
            where += f", column {self.column}"
        return f"{where}: {self.message}"


class CasprError(Exception):
    """Base of every deliberate caspr error."""


class InputError(CasprError):
    """The input is wrong; ``problems`` names each file, row and column."""

    def __init__(self, problems: list[Problem], truncated: bool = False) -> None:
        self.problems = problems
        self.truncated = truncated
        head = "; ".join(str(p) for p in problems[:3])
        more = f" (+{len(problems) - 3} more)" if len(problems) > 3 else ""
        super().__init__(f"{len(problems)} input problem(s): {head}{more}")


class NoRuleInForce(CasprError):
    """A parameter or regime was asked for at a date its coverage does not include."""


class InvariantViolation(CasprError):
    """A named invariant failed: a bug, never an input problem."""

    def __init__(self, name: str, detail: str) -> None:
        self.name = name
        super().__init__(f"invariant {name} violated: {detail}")


class IdempotencyConflict(CasprError):
    """The same id was recorded with a different body; ``field`` names the first difference."""

    def __init__(self, record_id: str, field: str) -> None:
        self.record_id = record_id
        self.field = field
        super().__init__(f"{record_id}: already recorded with a different {field}")
