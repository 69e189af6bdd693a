"""Charts of a report as inline SVG (matplotlib), for reading at a glance beside the exact tables.

Amounts reach matplotlib as binary floats for plotting only (each such line says
``# float-ok``); every figure a reader acts on is in the tables, exact. Text is kept as SVG
text (``svg.fonttype = none``) so the browser or the PDF engine draws Japanese with its own
fonts, and ids are salted so that the same report gives the same bytes.
"""

from __future__ import annotations

import io
import logging
import re
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np

from caspr.report.i18n import Language

FONTS = ["IPAexGothic", "Noto Sans CJK JP", "Hiragino Sans", "Yu Gothic", "Meiryo", "DejaVu Sans"]
COLOURS = {
    "hot": "#c62828",
    "cold": "#1f4e79",
    "custodian": "#6a8caf",
    "reserve": "#2e7d32",
    "insurance": "#81c784",
    "requirement": "#212121",
    "loss": "#1f4e79",
    "var": "#c62828",
}


@dataclass(frozen=True, slots=True)
class Bar:
    """One labelled bar and its exact value (converted to float only to be drawn)."""

    label: str
    value: Decimal


def _grouped(value: float, _position: int) -> str:  # float-ok: an axis tick
    return f"{value:,.0f}"


@contextmanager
def _figure(width: float, height: float) -> Iterator[tuple[Any, Any]]:  # float-ok: inches
    import matplotlib as mpl  # noqa: PLC0415 - plotting is slow to import

    mpl.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    style: Any = {
        "svg.fonttype": "none",
        "svg.hashsalt": "caspr-report",
        "font.family": "sans-serif",
        "font.sans-serif": FONTS,
        "font.size": 9,
        "axes.spines.top": False,
        "axes.spines.right": False,
    }
    with mpl.rc_context(style), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # glyphs matplotlib cannot measure: the reader's fonts draw them
        logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)
        figure, axis = plt.subplots(figsize=(width, height))
        try:
            yield figure, axis
        finally:
            plt.close(figure)


def _legend_above(axis: Any) -> None:
    """The legend above the plot, so it never hides a bar or the requirement mark."""
    axis.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncols=3, fontsize=8, frameon=False)


def _svg(figure: Any) -> str:
    buffer = io.StringIO()
    figure.tight_layout()
    figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None}, bbox_inches="tight")
    text = buffer.getvalue()
    text = text[text.index("<svg") :]  # drop the XML prologue and DOCTYPE: inline in HTML
    return re.sub(r"\s+(width|height)=\"[0-9.]+pt\"", "", text, count=2)


def coverage(bars: Sequence[Bar], lang: Language) -> str | None:
    """Coverage (funding ÷ requirement) per regime, with the 100% line."""
    if not bars:
        return None
    with _figure(7, 0.5 + 0.45 * len(bars)) as (figure, axis):
        values = [float(b.value * 100) for b in bars]  # float-ok: plot coordinates
        colours = [COLOURS["reserve"] if b.value >= 1 else COLOURS["hot"] for b in bars]
        axis.barh([b.label for b in bars], values, color=colours)
        for row, bar in enumerate(bars):  # the exact figure beside each bar: a tiny bar stays readable
            axis.annotate(
                lang.percent(bar.value),
                (values[row], row),
                xytext=(4, 0),
                textcoords="offset points",
                va="center",
                fontsize=8,
            )
        axis.axvline(100, color=COLOURS["requirement"], linestyle="--", linewidth=1)
        axis.set_xlabel(lang.t("chart.coverage.axis"))
        axis.invert_yaxis()
        return _svg(figure)


def _share(row: tuple[str, Decimal, Decimal, Decimal], index: int) -> float:  # float-ok: a plot coordinate
    _, hot, cold, custodian = row
    part = (hot, cold, custodian)[index - 1]
    return float(part / (hot + cold + custodian) * 100)  # float-ok: a plot coordinate


def hot_cold(rows: Sequence[tuple[str, Decimal, Decimal, Decimal]], lang: Language) -> str | None:
    """Per crypto asset: the customer holdings' shares hot, cold and at a custodian (stacked, %)."""
    rows = [r for r in rows if r[1] + r[2] + r[3] > 0]
    if not rows:
        return None
    with _figure(7, 0.6 + 0.32 * len(rows)) as (figure, axis):
        labels = [r[0] for r in rows]
        left = np.zeros(len(rows))
        for index, key in enumerate(("hot", "cold", "custodian"), start=1):
            shares = np.array([_share(r, index) for r in rows])
            axis.barh(labels, shares, left=left, color=COLOURS[key], label=lang.t(f"storage.{key}"))
            left += shares
        axis.set_xlim(0, 100)
        axis.set_xlabel(lang.t("chart.hot_cold.axis"))
        axis.invert_yaxis()
        _legend_above(axis)
        return _svg(figure)


def funding_mix(
    rows: Sequence[tuple[str, Decimal, Decimal, Decimal]], currency: str, lang: Language
) -> str | None:
    """Per regime with a requirement: reserve and insurance stacked, the requirement marked."""
    rows = [r for r in rows if r[3] > 0]
    if not rows:
        return None
    with _figure(7, 0.7 + 0.5 * len(rows)) as (figure, axis):
        labels = [r[0] for r in rows]
        reserve = [float(r[1]) for r in rows]  # float-ok: plot coordinates
        insurance = [float(r[2]) for r in rows]  # float-ok: plot coordinates
        required = [float(r[3]) for r in rows]  # float-ok: plot coordinates
        axis.barh(labels, reserve, color=COLOURS["reserve"], label=lang.t("funding.reserve"))
        axis.barh(
            labels, insurance, left=reserve, color=COLOURS["insurance"], label=lang.t("funding.insurance")
        )
        axis.scatter(
            required,
            labels,
            marker="|",
            s=400,
            color=COLOURS["requirement"],
            label=lang.t("label.requirement"),
            zorder=3,
        )
        from matplotlib.ticker import FuncFormatter, MaxNLocator  # noqa: PLC0415 - loaded when drawing

        axis.xaxis.set_major_locator(MaxNLocator(nbins=4))
        axis.xaxis.set_major_formatter(FuncFormatter(_grouped))
        axis.set_xlabel(lang.t("chart.amount.axis", currency=currency))
        axis.invert_yaxis()
        _legend_above(axis)
        return _svg(figure)


def stress_losses(
    losses: Any, capacity: Decimal, var: dict[str, Decimal], currency: str, lang: Language
) -> str | None:
    """The simulated annual losses (years with a loss, log scale) against reserve + insurance and VaR."""
    positive = losses[losses > 0]
    if not len(positive):
        return None
    with _figure(7, 3.2) as (figure, axis):
        low, high = float(positive.min()), float(positive.max())  # float-ok: simulated statistics
        bins = np.geomspace(low, high * 1.0001, 60) if high > low else 10
        axis.hist(positive, bins=bins, color=COLOURS["loss"], alpha=0.8, label=lang.t("chart.stress.years"))
        axis.set_xscale("log")
        axis.set_yscale("log")
        if capacity > 0:
            axis.axvline(
                float(capacity),  # float-ok: plot coordinate
                color=COLOURS["reserve"],
                linestyle="--",
                label=lang.t("stress.capacity"),
            )
        for level, value in var.items():
            axis.axvline(
                float(value),  # float-ok: plot coordinate
                color=COLOURS["var"],
                linestyle=":",  # float-ok: plot coordinate
                label=lang.t("stress.var", level=level),
            )
        axis.set_xlabel(lang.t("chart.stress.axis", currency=currency))
        axis.set_ylabel(lang.t("chart.stress.count"))
        axis.legend(loc="upper right", fontsize=8)
        return _svg(figure)
