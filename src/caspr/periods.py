"""Periods in calendar months and years, as legal texts count them (not in days).

"Six months or less" and "at least one year" are calendar periods: six months from
2026-07-01 end on 2027-01-01 (184 days), one year from 2023-03-01 ends on 2024-03-01
(366 days, across a 29 February). A period that would end on a day the last month does
not have ends on that month's last day (31 August + 6 months = 28 February), as
Regulation (EEC, Euratom) No 1182/71 Art. 3(2)(c) counts periods in EU law and as
``dateutil.relativedelta`` adds months. This module is the stdlib equivalent, typed.
"""

from __future__ import annotations

import calendar
import datetime as dt


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` plus ``months`` calendar months; the day is clamped to the month's last day."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return dt.date(year, month + 1, min(day.day, last))


def within_months(start: dt.date, end: dt.date, months: int) -> bool:
    """Whether the term ``start`` → ``end`` is at most ``months`` calendar months."""
    return end <= add_months(start, months)


def anniversary(start: dt.date, years: int) -> dt.date:
    """The first day after ``years`` full calendar years from ``start``.

    A policy from ``start`` that ends (exclusive) on this day or later has run at least
    ``years`` years. From 29 February the year runs to the end of 28 February, so the
    anniversary is 1 March (the conservative reading: a day later than clamping gives).
    """
    if start.month == 2 and start.day == 29:
        return dt.date(start.year + years, 3, 1)
    return add_months(start, 12 * years)
