"""YAML read with exact numbers: every float-looking scalar becomes a Decimal from its text."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml


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


def load_yaml(source: str | Path) -> Any:
    """Parse YAML text or a file with :class:`DecimalLoader` (never through float)."""
    text = Path(source).read_text(encoding="utf-8") if isinstance(source, Path) else source
    return yaml.load(text, Loader=DecimalLoader)
