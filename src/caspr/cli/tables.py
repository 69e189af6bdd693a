"""Parquet copies of the CSV files a command wrote, with exact DECIMAL amount columns.

CSV amounts are exact decimal text, but DuckDB, pandas and spreadsheets guess DOUBLE when
they read them and lose digits (``0.171798390000000001`` becomes ``0.17179839``). A Parquet
copy carries the type: every decimal column becomes ``DECIMAL(38, s)`` with ``s`` the most
fractional digits it has, every integer column ``INT64`` (or ``DECIMAL(38, 0)`` beyond it),
everything else text. Values are never passed through a float.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from caspr.snapshot.loader import csv_header

DECIMAL = r"^-?[0-9]+(\.[0-9]+)?$"
INTEGER = r"^-?[0-9]+$"
INT64_DIGITS = 18
"""Integers of at most 18 digits fit INT64 (its largest value has 19)."""


def typed(column: pa.Array) -> pa.Array:
    """``column`` (text) as INT64, DECIMAL(38, s) or text, whichever holds every value exactly."""
    present = pc.drop_null(column)
    if len(present) == 0 or not pc.all(pc.match_substring_regex(present, DECIMAL)).as_py():
        return column
    if pc.all(pc.match_substring_regex(present, INTEGER)).as_py():
        digits = pc.max(pc.utf8_length(pc.utf8_ltrim(present, characters="-"))).as_py()
        return column.cast(pa.int64() if digits <= INT64_DIGITS else pa.decimal128(38, 0))
    fractions = pc.utf8_length(pc.replace_substring_regex(present, r"^[^.]*\.?", ""))
    scale = int(pc.max(fractions).as_py())
    return column.cast(pa.decimal128(38, scale))


def parquet_beside(folder: Path, names: list[str]) -> list[Path]:
    """Write ``NAME.parquet`` beside each ``NAME.csv`` of ``folder`` that exists; the paths written."""
    written = []
    for name in names:
        source = folder / f"{name}.csv"
        if not source.exists():
            continue
        header = csv_header(source)
        options = pacsv.ConvertOptions(
            column_types=dict.fromkeys(header, pa.string()),
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        )
        table = pacsv.read_csv(source, convert_options=options)
        columns = [typed(table[n].combine_chunks()) for n in table.column_names]
        target = folder / f"{name}.parquet"
        pq.write_table(pa.table(columns, names=table.column_names), target)
        written.append(target)
    return written
