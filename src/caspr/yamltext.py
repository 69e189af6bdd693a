"""YAML read with exact numbers: every float-looking scalar becomes a Decimal from its text."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

from caspr.errors import InputError, Problem


class DecimalLoader(yaml.SafeLoader):
    """A SafeLoader whose floats are :class:`~decimal.Decimal` read from the scalar's text."""


def _construct_decimal(loader: yaml.SafeLoader, node: yaml.Node) -> Decimal:
    text = str(loader.construct_scalar(node)).replace("_", "")  # type: ignore[arg-type]
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite():
        raise yaml.constructor.ConstructorError(
            None, None, f"{text!r} is not a finite number", node.start_mark
        )
    return value


DecimalLoader.add_constructor("tag:yaml.org,2002:float", _construct_decimal)


def load_yaml(source: str | Path, name: str | None = None) -> Any:
    """Parse YAML text or a file with :class:`DecimalLoader` (never through float).

    Files must be UTF-8 (YAML 1.2 §5.2 allows UTF-16/32 with a byte order mark; caspr
    reads UTF-8 only, so a Shift-JIS file is refused, not misread).

    Raises:
        InputError: the file is missing or unreadable, not UTF-8, or not valid YAML; the
            problem names the file (``name``, default the path) and the line and column.
    """
    if not isinstance(source, Path):
        return _parse(source, name or "<text>")
    label = name or str(source)
    try:
        data = source.read_bytes()
    except OSError as exc:
        raise InputError([Problem(label, None, None, f"cannot be read: {exc.strerror or exc}")]) from exc
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError([not_utf8(label, data, exc)]) from exc
    return _parse(text, label)


def not_utf8(label: str, data: bytes, exc: UnicodeDecodeError) -> Problem:
    """The problem of a file that is not UTF-8, naming the line and column of the first bad byte."""
    line = data.count(b"\n", 0, exc.start) + 1
    column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
    return Problem(
        label,
        line,
        None,
        f"not UTF-8 (byte 0x{data[exc.start]:02x} at byte {column} of the line); "
        "save the file as UTF-8, the only encoding caspr reads",
    )


def _parse(text: str, label: str) -> Any:
    try:
        return yaml.load(text, Loader=DecimalLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark is not None else None
        column = str(mark.column + 1) if mark is not None else None
        reason = getattr(exc, "problem", None) or str(exc)
        raise InputError([Problem(label, line, column, f"not valid YAML: {reason}")]) from exc
