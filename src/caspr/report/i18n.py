"""Languages of the reports: gettext catalogues (one ``.po`` file a language) and exact formats.

Every label and finding heading is a key (``section.findings``, ``finding.jp.psa.63-11-2``)
in ``locale/<lang>/LC_MESSAGES/caspr.po``, read with Babel; a third language is one more
``.po`` file, not a code change. Amounts are formatted from ``Decimal`` exactly (grouped,
never rounded, never through a float); dates as the language's readers write them
(Japanese: 2026年9月30日, with the 令和 era year beside it).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path

from caspr.money import canonical

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "caspr"
DEFAULT_LANGUAGE = "en"
JURISDICTION_LANGUAGE = {"JP": "ja"}
"""The language a report defaults to for an exchange of each jurisdiction (others: English)."""

REIWA_START = dt.date(2019, 5, 1)
"""First day of the 令和 era (Act on the Imperial House Law special measures; era name from 2019-05-01)."""


def languages() -> tuple[str, ...]:
    """Every language with a catalogue, sorted."""
    return tuple(
        sorted(p.name for p in LOCALE_DIR.iterdir() if (p / "LC_MESSAGES" / f"{DOMAIN}.po").exists())
    )


def language_for(jurisdiction: str) -> str:
    """The default report language for an exchange's jurisdiction."""
    return JURISDICTION_LANGUAGE.get(jurisdiction, DEFAULT_LANGUAGE)


@cache
def catalogue(language: str) -> dict[str, str]:
    """The messages of ``language``: key → text (untranslated entries left out).

    Raises:
        ValueError: no catalogue for ``language``.
    """
    path = LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not path.exists():
        msg = f"no report language {language!r} (known: {', '.join(languages())})"
        raise ValueError(msg)
    from babel.messages.pofile import read_po  # noqa: PLC0415 - Babel: loaded when a report is made

    with path.open("rb") as handle:
        po = read_po(handle, locale=language, domain=DOMAIN)
    return {str(m.id): str(m.string) for m in po if m.id and isinstance(m.string, str) and m.string}


def group(text: str) -> str:
    """Thousands separators in the integer part of a plain decimal string (exact)."""
    sign = "-" if text.startswith("-") else ""
    whole, _, fraction = text.lstrip("-").partition(".")
    grouped = f"{int(whole):,}"
    return f"{sign}{grouped}.{fraction}" if fraction else f"{sign}{grouped}"


def man_oku(value: Decimal) -> str | None:
    """A whole yen amount in 億/万 units, exactly (1234567890 → 12億3,456万7,890); None otherwise."""
    if value != value.to_integral_value() or value < 0:
        return None
    n = int(value)
    if n < 10_000:
        return None
    oku, rest = divmod(n, 100_000_000)
    man, yen = divmod(rest, 10_000)
    parts = []
    if oku:
        parts.append(f"{oku:,}億")
    if man:
        parts.append(f"{man:,}万")
    if yen:
        parts.append(f"{yen:,}")
    return "".join(parts)


@dataclass(frozen=True, slots=True)
class Language:
    """One report language: its messages and how it writes amounts, shares and dates."""

    code: str

    def t(self, key: str, **values: object) -> str:
        """The text of ``key`` with ``{name}`` placeholders filled.

        Raises:
            KeyError: ``key`` is in neither this language's catalogue nor English's.
        """
        text = catalogue(self.code).get(key)
        if text is None:
            text = catalogue(DEFAULT_LANGUAGE)[key]
        return text.format(**values) if values else text

    def t_or(self, key: str, fallback: str) -> str:
        """The text of ``key`` if the catalogue has it, else ``fallback`` (a library's own words)."""
        return catalogue(self.code).get(key) or catalogue(DEFAULT_LANGUAGE).get(key) or fallback

    def number(self, value: Decimal) -> str:
        """An exact decimal, grouped: 13629254.908 → 13,629,254.908."""
        return group(canonical(value))

    def money(self, value: Decimal, currency: str) -> str:
        """An exact amount with its currency: ``50,000,000 JPY`` / ``50,000,000円``."""
        if self.code == "ja" and currency == "JPY":
            return f"{self.number(value)}円"
        return f"{self.number(value)} {currency}"

    def money_short(self, value: Decimal, currency: str) -> str:
        """A headline amount: in Japanese yen by 億/万 units (exact), else as :meth:`money`."""
        if self.code == "ja" and currency == "JPY":
            units = man_oku(value)
            if units is not None:
                return f"{units}円"
        return self.money(value, currency)

    def percent(self, ratio: Decimal | None) -> str:
        """A ratio as a percentage, exactly (0.2545 → 25.45%); a dash when there is none."""
        if ratio is None:
            return "—"
        return f"{self.number(ratio * 100)}%"

    def date(self, value: dt.date) -> str:
        """A date as this language's readers write it; Japanese adds the 令和 year."""
        from babel.dates import format_date  # noqa: PLC0415

        text = format_date(value, "long", locale=self.code)
        if self.code == "ja" and value >= REIWA_START:
            year = value.year - 2018
            text += f"（令和{'元' if year == 1 else year}年）"
        return text
