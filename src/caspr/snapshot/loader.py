"""Load and validate a snapshot folder; collect every problem; write nothing.

Tables are read with every column as text (CSV never goes through float), except the
amount and price columns of Parquet files that are already exact DECIMALs: those keep their
type and are checked as numbers (sign, integer digits, digits finer than the asset's scale),
since rendering 28 million decimals as text only to parse them again cost most of the time.
Everything is checked column by column with vectorised Arrow compute, and each problem
still names its file, row and column.
Row numbers: for CSV the header is line 1 and the first data row is row 2 (what a text
editor shows); for Parquet the first row is row 1.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from pydantic import ValidationError

from caspr.errors import InputError, Problem
from caspr.money import MAX_SCALE, Asset, AssetKind, canonical
from caspr.snapshot.schema import (
    ACCOUNTS,
    ASSETS,
    BALANCES,
    DOCUMENTS,
    PRICES,
    REQUIRED_DOCUMENTS,
    TABLES,
    VOLUMES,
    WALLETS,
    BookedReserve,
    ColumnType,
    Exchange,
    InsuranceDoc,
    InsurancePolicy,
    ReserveDeposit,
    ReserveDoc,
    TableSpec,
)
from caspr.units import MAX_TEN_POWER, decimal_limbs, multiples_of_ten
from caspr.yamltext import load_yaml, not_utf8

MAX_PROBLEMS = 200
"""Validation stops collecting after this many problems and says it did."""

MAX_INTEGER_DIGITS = 20
"""Amounts are DECIMAL(38, 18) in the engine: at most 20 digits before the point."""

ENGINE_SUM_LIMIT = 10**MAX_INTEGER_DIGITS
"""Every asset's total of a column must stay below this: the engine's sums are DECIMAL(38, 18) too."""

_DECIMAL = r"^-?[0-9]+(\.[0-9]+)?$"

# what the text and the DECIMAL checks of an amount say, word for word the same
_NEGATIVE = "negative amount {value!r} (amounts are >= 0)"
_TOO_BIG = f"{{value!r}} has more than {MAX_INTEGER_DIGITS} integer digits"
_FINER = "{value!r} is finer than the asset's scale"


@dataclass(frozen=True, slots=True)
class TableFile:
    """Where a validated table lives and in which format."""

    name: str
    path: Path
    format: str  # "csv" or "parquet"
    rows: int


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A validated snapshot: typed documents, the asset list, and its table files."""

    root: Path
    exchange: Exchange
    assets: dict[str, Asset]
    policies: tuple[InsurancePolicy, ...]
    deposits: tuple[ReserveDeposit, ...]
    tables: dict[str, TableFile]
    booked_reserve: BookedReserve | None = None
    """The reserve as booked on the balance sheet (reserve.yaml ``booked``), if stated."""

    def has(self, table: str) -> bool:
        """Whether the optional ``table`` was given."""
        return table in self.tables


@dataclass
class _Collector:
    """Collects problems up to :data:`MAX_PROBLEMS`."""

    problems: list[Problem] = field(default_factory=list)
    truncated: bool = False

    def add(self, problem: Problem) -> None:
        if len(self.problems) >= MAX_PROBLEMS:
            self.truncated = True
            return
        self.problems.append(problem)

    @property
    def full(self) -> bool:
        return len(self.problems) >= MAX_PROBLEMS


def _find_table(root: Path, spec: TableSpec, out: _Collector) -> tuple[Path, str] | None:
    found = [(root / f"{spec.name}.{ext}", ext) for ext in ("csv", "parquet")]
    present = [(p, ext) for p, ext in found if p.exists()]
    if len(present) > 1:
        out.add(Problem(f"{spec.name}.csv", None, None, "give the table as CSV or Parquet, not both"))
        return None
    if not present:
        if spec.required:
            out.add(Problem(f"{spec.name}.csv", None, None, "required file is missing"))
        return None
    return present[0]


def csv_header(path: Path) -> list[str]:
    """The column names on a CSV file's first line."""
    with path.open(newline="", encoding="utf-8") as handle:
        return next(csv.reader(handle), [])


def _locate_csv_problem(path: Path) -> Problem | None:
    """The first line of a CSV file that Arrow refused: not UTF-8, or a row of the wrong width.

    Arrow's message names neither the line nor the column; this rereads the file (only when
    it failed) to say where. ``None`` when the file reads cleanly here too.
    """
    try:
        data = path.read_bytes()
    except OSError:
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return not_utf8(path.name, data, exc)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    header = next(reader, [])
    while True:
        start = reader.line_num + 1  # a quoted field may span lines: name the row's first
        try:
            row = next(reader)
        except StopIteration:
            return None
        except csv.Error as exc:
            return Problem(path.name, start, None, f"malformed CSV: {exc}")
        if len(row) != len(header):
            return Problem(path.name, start, None, f"{len(row)} fields where the header has {len(header)}")


def _read_table(path: Path, schema: pa.Schema | None, numeric: set[str]) -> pa.Table:
    """Every column as text (CSV numbers never go through float).

    The exception: Parquet columns (``schema`` given) named in ``numeric`` that are stored as
    DECIMAL keep their exact type.
    """
    if schema is None:
        header = csv_header(path)
        options = pacsv.ConvertOptions(
            column_types={name: pa.string() for name in header},
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        )
        return pacsv.read_csv(path, convert_options=options)
    # DuckDB renders DECIMAL as plain text ("0.00000096"); Arrow's cast would say "9.6E-7".
    select = ", ".join(
        f'"{quoted}"'
        if _exact_decimal(field.type) and field.name in numeric
        else f'CAST("{quoted}" AS VARCHAR) AS "{quoted}"'
        for field, quoted in ((f, f.name.replace('"', '""')) for f in schema)
    )
    with duckdb.connect() as con:
        con.execute("SET preserve_insertion_order = true")
        con.execute("SET enable_progress_bar = false")
        literal = str(path).replace("'", "''")
        return con.sql(f"SELECT {select} FROM read_parquet('{literal}')").to_arrow_table()


def _contiguous(table: pa.Table) -> pa.Table:
    """``table`` with every column in one chunk, so that each check reads it without a copy."""
    return pa.Table.from_arrays([c.combine_chunks() for c in table.columns], names=table.column_names)


def _column(table: pa.Table, name: str) -> pa.Array:
    """Column ``name`` as one array: the chunk itself when there is one (no copy)."""
    column = table[name]
    return column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()


def _exact_decimal(kind: pa.DataType) -> bool:
    """A DECIMAL the engine holds exactly (Arrow decimal128: at most 38 digits)."""
    return bool(pa.types.is_decimal128(kind))


def _strictly_ascending(columns: list[pa.Array]) -> bool:
    """Whether the rows, keyed by ``columns`` in order, rise strictly (so no key repeats)."""
    if len(columns[0]) < 2:
        return True
    rising: Any = None
    tied: Any = None
    for column in columns:
        after, before = column[1:], column[:-1]
        greater, equal = pc.greater(after, before), pc.equal(after, before)
        rising = greater if rising is None else pc.or_(rising, pc.and_(tied, greater))
        tied = equal if tied is None else pc.and_(tied, equal)
    return bool(pc.all(pc.fill_null(rising, False)).as_py())


class _TableCheck:
    """Checks one table's columns and reports problems with their row numbers."""

    def __init__(self, spec: TableSpec, path: Path, fmt: str, out: _Collector) -> None:
        self.spec = spec
        self.file = path.name
        self.first_row = 2 if fmt == "csv" else 1
        self.out = out

    def report(self, mask: pa.Array, column: str, values: pa.Array, message: str) -> None:
        """Add one problem per row where ``mask`` is true (up to the cap)."""
        if self.out.full:
            if pc.any(mask).as_py():
                self.out.truncated = True
            return
        room = MAX_PROBLEMS - len(self.out.problems)
        rows = pc.indices_nonzero(pc.fill_null(mask, False)).slice(0, room + 1)
        for index in rows.to_pylist():
            value = values[index].as_py()
            if isinstance(value, Decimal):
                value = canonical(value)  # as the file would write it, not as Decimal('…')
            self.out.add(Problem(self.file, index + self.first_row, column, message.format(value=value)))

    def columns(self, table: pa.Table) -> bool:
        """Unknown and missing columns; False when the table cannot be checked further."""
        names = set(table.column_names)
        known = {c.name for c in self.spec.columns}
        for name in table.column_names:
            if name not in known:
                self.out.add(Problem(self.file, 1, name, f"unknown column (expected {sorted(known)})"))
        ok = True
        for column in self.spec.columns:
            if column.required and column.name not in names:
                self.out.add(Problem(self.file, 1, column.name, "required column is missing"))
                ok = False
        return ok and names <= known

    def no_floats(self, schema: pa.Schema) -> None:
        """Amount and price columns stored as binary floating point: refused whole."""
        for column in schema:
            if column.name in _numeric_columns(self.spec) and pa.types.is_floating(column.type):
                self.out.add(
                    Problem(
                        self.file,
                        None,
                        column.name,
                        f"stored as binary floating point ({column.type}): amounts must be DECIMAL or "
                        "decimal strings, since a float cannot hold most decimal amounts exactly",
                    )
                )

    def values(self, table: pa.Table) -> None:
        """Type checks for every column present."""
        for column in self.spec.columns:
            if column.name not in table.column_names:
                continue
            values = _column(table, column.name)
            if _exact_decimal(values.type):  # a Parquet DECIMAL: checked as numbers
                if column.required:
                    self.report(pc.is_null(values), column.name, values, "empty value")
                self._decimal_typed(values, column.name)
                continue
            empty = pc.equal(values, "")
            if column.required:
                self.report(empty, column.name, values, "empty value")
            present = pc.invert(empty)
            if column.type in (ColumnType.AMOUNT, ColumnType.PRICE):
                self._decimal(values, present, column.name)
            elif column.type is ColumnType.SCALE:
                digits = pc.match_substring_regex(values, r"^[0-9]{1,2}$")
                bad = pc.and_(present, pc.invert(digits))
                self.report(bad, column.name, values, "scale must be a whole number 0-18, got {value!r}")
                big = pc.and_(
                    digits, pc.greater(pc.cast(pc.if_else(digits, values, "0"), pa.int64()), MAX_SCALE)
                )
                self.report(big, column.name, values, "scale must be 0-18, got {value!r}")
            elif column.type is ColumnType.DATE:
                parsed = pc.strptime(
                    pc.if_else(present, values, "1970-01-01"), format="%Y-%m-%d", unit="s", error_is_null=True
                )
                # a round trip rejects what strptime tolerates, such as 2026-02-30
                round_trip = pc.equal(pc.strftime(parsed, format="%Y-%m-%d"), values)
                bad = pc.and_(present, pc.invert(pc.fill_null(round_trip, False)))
                self.report(bad, column.name, values, "not a date (YYYY-MM-DD): {value!r}")
            elif column.type is ColumnType.ENUM:
                known = pc.is_in(values, value_set=pa.array(column.values))
                bad = pc.and_(present, pc.invert(known))
                allowed = ", ".join(column.values)
                self.report(bad, column.name, values, "unknown value {value!r} (allowed: " + allowed + ")")

    def totals(self, table: pa.Table) -> None:
        """Each asset's total of every amount and price column must fit the engine's sum.

        The engine sums as DECIMAL(38, 18) (:data:`caspr.engine.AMOUNT_TYPE`): a total of
        10^20 or more overflows there ("Overflow in SUM of DECIMAL") although every single
        value has at most 20 integer digits. The bound is checked exactly on the integer parts
        in 128-bit integers, plus one per row for the fractions (so a total within a few units
        of 10^20 is refused too, never one above it accepted).
        """
        numeric = [c for c in _numeric_columns(self.spec) if c in table.column_names]
        group = '"asset"' if "asset" in table.column_names else "NULL"
        with duckdb.connect() as con:
            con.execute("SET enable_progress_bar = false")
            con.register("checked", table)
            for name in numeric:
                quoted = name.replace('"', '""')
                integer = (
                    f'CAST(FLOOR("{quoted}") AS HUGEINT)'
                    if _exact_decimal(table.schema.field(name).type)
                    else f"""CAST(NULLIF(split_part("{quoted}", '.', 1), '') AS HUGEINT)"""
                )
                rows = con.sql(
                    f"SELECT {group} AS asset, SUM({integer}) AS whole FROM checked GROUP BY ALL "
                    f"HAVING whole + COUNT(*) >= CAST('{ENGINE_SUM_LIMIT}' AS HUGEINT) ORDER BY 1"
                ).fetchall()
                for asset, whole in rows:
                    which = f"the {asset} values" if asset is not None else "the values"
                    self.out.add(
                        Problem(
                            self.file,
                            None,
                            name,
                            f"{which} add up to {whole:,} or more: caspr sums amounts as "
                            "DECIMAL(38, 18), so each asset's total must stay below 10^20 "
                            "(100,000,000,000,000,000,000)",
                        )
                    )

    def _decimal(self, values: pa.Array, present: pa.Array, name: str) -> None:
        shaped = pc.match_substring_regex(values, _DECIMAL)
        negative = pc.and_(shaped, pc.starts_with(values, "-"))
        self.report(pc.and_(present, pc.invert(shaped)), name, values, "not a decimal number: {value!r}")
        self.report(negative, name, values, _NEGATIVE)
        integer_part = pc.replace_substring_regex(values, pattern=r"\..*$", replacement="")
        too_big = pc.and_(
            shaped,
            pc.greater(pc.utf8_length(pc.utf8_ltrim(integer_part, characters="-0")), MAX_INTEGER_DIGITS),
        )
        self.report(too_big, name, values, _TOO_BIG)

    def _decimal_typed(self, values: pa.Array, name: str) -> None:
        """The checks of :meth:`_decimal` on a DECIMAL column: the type makes it a number."""
        zero = pa.scalar(Decimal(0), values.type)
        self.report(pc.less(values, zero), name, values, _NEGATIVE)
        if values.type.precision - values.type.scale > MAX_INTEGER_DIGITS:
            limit = pa.scalar(Decimal(10) ** MAX_INTEGER_DIGITS, pa.decimal128(38, 0)).cast(values.type)
            too_big = pc.greater_equal(pc.abs(values), limit)
            self.report(too_big, name, values, _TOO_BIG)

    def _scale_typed(self, assets: pa.Array, values: pa.Array, column: str, scales: dict[str, int]) -> None:
        """:meth:`scale` on a DECIMAL column: each asset's rows rounded to its scale must not move."""
        codes = list(scales)
        which = pc.fill_null(pc.index_in(assets, value_set=pa.array(codes, pa.string())), -1).to_numpy()
        limbs = decimal_limbs(values)
        # negative amounts are reported as negative already, empty ones as empty
        checked = ~(limbs[:, 1] >> np.uint64(63)).astype(bool) & values.is_valid().to_numpy(
            zero_copy_only=False
        )
        finer = np.zeros(len(values), dtype=bool)
        for scale in sorted(set(scales.values())):
            drop = values.type.scale - scale  # digits the asset's scale does not have
            if drop <= 0:
                continue
            picked = np.zeros(len(codes) + 1, dtype=bool)  # by asset index; the last is "unlisted"
            picked[[a for a, code in enumerate(codes) if scales[code] == scale]] = True
            rows = np.flatnonzero(picked[which] & checked)
            if drop <= MAX_TEN_POWER:  # the unscaled integer must be a multiple of 10^drop
                finer[rows[~multiples_of_ten(limbs[rows], drop)]] = True
            else:  # finer than 10^-19 of a unit: Arrow rounds
                amounts = values.take(pa.array(rows))
                rounded = pc.round(amounts, ndigits=scale, round_mode="towards_zero")
                finer[
                    rows[pc.fill_null(pc.not_equal(rounded, amounts), False).to_numpy(zero_copy_only=False)]
                ] = True
        self.report(pa.array(finer), column, values, _FINER)

    def scale(self, table: pa.Table, column: str, scales: dict[str, int]) -> None:
        """Amounts finer than their asset's ledger scale."""
        assets = _column(table, "asset")
        values = _column(table, column)
        if _exact_decimal(values.type):
            self._scale_typed(assets, values, column, scales)
            return
        known = list(scales)
        index = pc.index_in(assets, value_set=pa.array(known, pa.string()))
        scale_of = pc.take(pa.array([scales[a] for a in known], pa.int64()), index)
        shaped = pc.match_substring_regex(values, _DECIMAL)
        fraction = pc.replace_substring_regex(values, pattern=r"^[^.]*\.?", replacement="")
        digits = pc.utf8_length(pc.utf8_rtrim(fraction, characters="0"))
        finer = pc.and_(shaped, pc.greater(pc.cast(digits, pa.int64()), scale_of))
        self.report(finer, column, values, _FINER)

    def known_assets(
        self, table: pa.Table, column: str, assets: Iterable[str], optional: bool = False
    ) -> None:
        """Asset codes not listed in assets.csv."""
        values = _column(table, column)
        unknown = pc.invert(pc.is_in(values, value_set=pa.array(sorted(assets), pa.string())))
        if optional:
            unknown = pc.and_(unknown, pc.not_equal(values, ""))
        self.report(unknown, column, values, "unknown asset {value!r} (not in assets.csv)")

    def duplicates(self, table: pa.Table) -> None:
        """Rows that repeat the table's key, each naming the row it repeats."""
        key = [k for k in self.spec.key if k in table.column_names]
        if _strictly_ascending([_column(table, k) for k in key]):
            return  # sorted by its key, as exports usually are: one pass shows nothing repeats
        indexed = table.select(key).append_column("_row", pa.array(np.arange(table.num_rows)))
        groups = indexed.group_by(key, use_threads=False).aggregate([("_row", "min"), ("_row", "count")])
        repeated = groups.filter(pc.greater(groups["_row_count"], 1))
        if repeated.num_rows == 0:
            return
        joined = indexed.join(repeated.drop_columns(["_row_count"]), keys=key, join_type="inner")
        later = joined.filter(pc.not_equal(joined["_row"], joined["_row_min"])).sort_by("_row")
        label = ", ".join(key)
        for row in later.slice(0, MAX_PROBLEMS).to_pylist():
            values = ", ".join(str(row[k]) for k in key)
            self.out.add(
                Problem(
                    self.file,
                    row["_row"] + self.first_row,
                    label,
                    f"duplicate ({label}) = ({values}); first at row {row['_row_min'] + self.first_row}",
                )
            )


def _load_document(root: Path, name: str, out: _Collector) -> Any:
    path = root / f"{name}.yaml"
    if not path.exists():
        if name in REQUIRED_DOCUMENTS:
            out.add(Problem(path.name, None, None, "required file is missing"))
        return None
    try:
        raw = load_yaml(path, path.name)
    except InputError as refused:
        for problem in refused.problems:
            out.add(problem)
        return None
    try:
        return DOCUMENTS[name].model_validate(raw if raw is not None else {})
    except ValidationError as exc:
        for error in exc.errors():
            loc = ".".join(str(part) for part in error["loc"]) or None
            out.add(Problem(path.name, None, loc, error["msg"]))
        return None


def _assets(table: pa.Table) -> dict[str, Asset]:
    assets: dict[str, Asset] = {}
    for row in table.to_pylist():
        assets[row["asset"]] = Asset(
            code=row["asset"],
            kind=AssetKind(row["kind"]),
            scale=int(row["scale"]),
            price=Decimal(row["price"]),
        )
    return dict(sorted(assets.items()))


def _check_currencies(
    exchange: Exchange,
    insurance: InsuranceDoc | None,
    reserve: ReserveDoc | None,
    assets: dict[str, Asset],
    out: _Collector,
) -> None:
    currency = exchange.reporting_currency.value
    for i, policy in enumerate(insurance.policies if insurance else ()):
        if policy.currency.value != currency:
            out.add(
                Problem(
                    "insurance.yaml",
                    None,
                    f"policies.{i}.currency",
                    f"{policy.currency.value} differs from the reporting currency {currency}",
                )
            )
        if policy.expires <= policy.starts:
            out.add(
                Problem("insurance.yaml", None, f"policies.{i}.expires", "expires on or before it starts")
            )
    for i, deposit in enumerate(reserve.deposits if reserve else ()):
        if deposit.currency.value != currency:
            out.add(
                Problem(
                    "reserve.yaml",
                    None,
                    f"deposits.{i}.currency",
                    f"{deposit.currency.value} differs from the reporting currency {currency}",
                )
            )
    for i, deposit in enumerate(reserve.deposits if reserve else ()):
        if deposit.placed is not None and deposit.matures is not None and deposit.matures <= deposit.placed:
            out.add(
                Problem("reserve.yaml", None, f"deposits.{i}.matures", "matures on or before it was placed")
            )
    _check_fx_rates(exchange, out)
    booked = reserve.booked if reserve else None
    if booked is not None and booked.currency.value != currency:
        out.add(
            Problem(
                "reserve.yaml",
                None,
                "booked.currency",
                f"{booked.currency.value} differs from the reporting currency {currency}",
            )
        )
    fiat = assets.get(currency)
    if fiat is not None and fiat.price != 1:
        out.add(
            Problem(
                "assets.csv",
                None,
                "price",
                f"{currency} is the reporting currency, so its price must be 1, got {fiat.price}",
            )
        )


def _check_fx_rates(exchange: Exchange, out: _Collector) -> None:
    """Each supplied rate: one per pair, two different currencies, not dated after ``as_of``."""
    seen: set[tuple[str, str]] = set()
    for i, fx in enumerate(exchange.fx_rates):
        pair = (fx.base.value, fx.quote.value)
        if fx.base == fx.quote:
            out.add(
                Problem("exchange.yaml", None, f"fx_rates.{i}.quote", f"base and quote are both {pair[0]}")
            )
        if pair in seen:
            out.add(Problem("exchange.yaml", None, f"fx_rates.{i}", f"a second {pair[0]}→{pair[1]} rate"))
        seen.add(pair)
        if fx.date > exchange.as_of_date:
            out.add(
                Problem(
                    "exchange.yaml",
                    None,
                    f"fx_rates.{i}.date",
                    f"{fx.date} is after the snapshot's as_of {exchange.as_of_date}",
                )
            )


def _numeric_columns(spec: TableSpec) -> set[str]:
    """The amount and price columns of ``spec``: kept as DECIMAL when a Parquet file has them so."""
    return {c.name for c in spec.columns if c.type in (ColumnType.AMOUNT, ColumnType.PRICE)}


def _check_table(root: Path, spec: TableSpec, out: _Collector) -> tuple[TableFile, pa.Table] | None:
    found = _find_table(root, spec, out)
    if found is None:
        return None
    path, fmt = found
    try:
        schema = pq.read_schema(path) if fmt == "parquet" else None
        table = _read_table(path, schema, _numeric_columns(spec))
    except (pa.ArrowInvalid, OSError, UnicodeDecodeError) as exc:
        located = _locate_csv_problem(path) if fmt == "csv" else None
        out.add(located or Problem(path.name, None, None, f"cannot be read: {exc}".splitlines()[0]))
        return None
    table = _contiguous(table)
    check = _TableCheck(spec, path, fmt, out)
    if not check.columns(table):
        return None
    if schema is not None:
        check.no_floats(schema)
    before = len(out.problems)
    check.values(table)
    if len(out.problems) == before:  # totals only of values that are all numbers
        check.totals(table)
    return TableFile(spec.name, path, fmt, table.num_rows), table


def _collect(root: Path) -> tuple[_Collector, Snapshot | None]:
    out = _Collector()
    if not root.is_dir():
        out.add(Problem(str(root), None, None, "not a folder"))
        return out, None
    docs = {name: _load_document(root, name, out) for name in DOCUMENTS}
    checked = {spec.name: _check_table(root, spec, out) for spec in TABLES}
    assets: dict[str, Asset] = {}
    if checked["assets"] is not None:
        file, table = checked["assets"]
        _TableCheck(ASSETS, file.path, file.format, out).duplicates(table)
        if not any(p.file == file.path.name for p in out.problems):
            assets = _assets(table)
    scales = {code: a.scale for code, a in assets.items()}
    for spec, amount in (
        (BALANCES, "amount"),
        (WALLETS, "amount"),
        (VOLUMES, None),
        (ACCOUNTS, None),
        (PRICES, None),
    ):
        entry = checked[spec.name]
        if entry is None:
            continue
        file, table = entry
        check = _TableCheck(spec, file.path, file.format, out)
        if "asset" in table.column_names and assets:
            check.known_assets(table, "asset", assets, optional=not spec.column("asset").required)
        if amount and scales:
            check.scale(table, amount, scales)
        check.duplicates(table)
    _cross_accounts(checked, out)
    if docs["exchange"] is not None:
        _check_currencies(docs["exchange"], docs["insurance"], docs["reserve"], assets, out)
    if out.problems:
        return out, None
    snapshot = Snapshot(
        root=root,
        exchange=docs["exchange"],
        assets=assets,
        policies=docs["insurance"].policies if docs["insurance"] else (),
        deposits=docs["reserve"].deposits if docs["reserve"] else (),
        tables={name: entry[0] for name, entry in checked.items() if entry is not None},
        booked_reserve=docs["reserve"].booked if docs["reserve"] else None,
    )
    return out, snapshot


def _cross_accounts(checked: dict[str, tuple[TableFile, pa.Table] | None], out: _Collector) -> None:
    """Balances of accounts that accounts.csv does not list (when it is given)."""
    if checked["accounts"] is None or checked["balances"] is None:
        return
    accounts = _column(checked["accounts"][1], "account_id")
    file, balances = checked["balances"]
    ids = _column(balances, "account_id")
    # the common case, all listed, answered by DuckDB's parallel anti-join; rows only if not
    with duckdb.connect() as con:
        con.execute("SET enable_progress_bar = false")
        con.register("balance_ids", pa.table({"account_id": ids}))
        con.register("account_ids", pa.table({"account_id": accounts}))
        missing = con.sql(
            "SELECT count(*) FROM balance_ids b ANTI JOIN account_ids a USING (account_id)"
        ).fetchall()[0][0]
    if missing == 0:
        return
    unknown = pc.invert(pc.is_in(ids, value_set=accounts))
    check = _TableCheck(BALANCES, file.path, file.format, out)
    check.report(
        unknown, "account_id", ids, f"account {{value!r}} is not in {checked['accounts'][0].path.name}"
    )


def validate(root: Path) -> list[Problem]:
    """Every problem of the snapshot at ``root`` (empty when it is valid); writes nothing."""
    out, _ = _collect(root)
    return out.problems


def load_snapshot(root: Path) -> Snapshot:
    """Validate and load the snapshot at ``root``.

    Raises:
        InputError: with every problem found (up to :data:`MAX_PROBLEMS`).
    """
    out, snapshot = _collect(Path(root))
    if snapshot is None:
        raise InputError(out.problems, out.truncated)
    return snapshot
