"""Each kind of bad input: exit 2, file/row/column named, nothing written."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from caspr.cli.main import app
from caspr.snapshot.loader import load_snapshot, validate
from tests.conftest import FILES, write_snapshot

BAL = "account_id,asset,amount\n"


def problems(tmp_path: Path, **replace: str | None) -> list[tuple[str, int | None, str | None, str]]:
    root = write_snapshot(tmp_path / "s", **replace)
    return [(p.file, p.row, p.column, p.message) for p in validate(root)]


def test_the_tiny_snapshot_is_valid(tiny):
    assert validate(tiny) == []
    snap = load_snapshot(tiny)
    assert list(snap.assets) == ["BTC", "ETH", "JPY"]
    assert snap.tables["balances"].rows == 6


@pytest.mark.parametrize(
    ("replace", "expected"),
    [
        (
            {"balances_csv": BAL + "A1,BTC,1\nA2,BTC,abc\n"},
            ("balances.csv", 3, "amount", "not a decimal number: 'abc'"),
        ),
        (
            {"balances_csv": BAL + "A1,BTC,-0.5\n"},
            ("balances.csv", 2, "amount", "negative amount '-0.5' (amounts are >= 0)"),
        ),
        (
            {"balances_csv": BAL + "A1,BTC,1e5\n"},
            ("balances.csv", 2, "amount", "not a decimal number: '1e5'"),
        ),
        (
            {"balances_csv": BAL + "A1,BTC,0.000000001\n"},
            ("balances.csv", 2, "amount", "'0.000000001' is finer than the asset's scale"),
        ),
        (
            {"balances_csv": BAL + "A1,DOGE,5\n"},
            ("balances.csv", 2, "asset", "unknown asset 'DOGE' (not in assets.csv)"),
        ),
        (
            {"balances_csv": BAL + "A1,BTC,1\nA2,BTC,1\nA1,BTC,2\n"},
            (
                "balances.csv",
                4,
                "account_id, asset",
                "duplicate (account_id, asset) = (A1, BTC); first at row 2",
            ),
        ),
        (
            {"balances_csv": BAL + "A9,BTC,1\n"},
            ("balances.csv", 2, "account_id", "account 'A9' is not in accounts.csv"),
        ),
        (
            {"balances_csv": "account_id,asset,amount,note\nA1,BTC,1,x\n"},
            ("balances.csv", 1, "note", "unknown column (expected ['account_id', 'amount', 'asset'])"),
        ),
        (
            {"balances_csv": "account_id,amount\nA1,1\n"},
            ("balances.csv", 1, "asset", "required column is missing"),
        ),
        ({"balances_csv": BAL + "A1,,1\n"}, ("balances.csv", 2, "asset", "empty value")),
        (
            {
                "wallets_csv": "wallet_id,asset,storage,owner,amount\nw1,BTC,hot,customer,1\nw1,BTC,cold,customer,2\n"
            },
            ("wallets.csv", 3, "wallet_id", "duplicate (wallet_id) = (w1); first at row 2"),
        ),
        (
            {"wallets_csv": "wallet_id,asset,storage,owner,amount\nw1,BTC,warm,customer,1\n"},
            (
                "wallets.csv",
                2,
                "storage",
                "unknown value 'warm' (allowed: hot, cold, custodian, fiat_trust, bank)",
            ),
        ),
        (
            {"volumes_csv": "date,category,notional\n2026-02-30,spot,1\n"},
            ("volumes.csv", 2, "date", "not a date (YYYY-MM-DD): '2026-02-30'"),
        ),
        (
            {"volumes_csv": "date,category,notional\n2026/02/01,spot,1\n"},
            ("volumes.csv", 2, "date", "not a date (YYYY-MM-DD): '2026/02/01'"),
        ),
        (
            {
                "accounts_csv": "account_id,kyc,status\nA1,verified,active\nA2,maybe,active\nA3,verified,active\n"
            },
            ("accounts.csv", 3, "kyc", "unknown value 'maybe' (allowed: verified, pending, failed)"),
        ),
        (
            {"assets_csv": "asset,kind,scale,price\nBTC,crypto,19,1\nETH,crypto,18,1\nJPY,fiat,0,1\n"},
            ("assets.csv", 2, "scale", "scale must be 0-18, got '19'"),
        ),
        (
            {
                "reserve_yaml": "deposits:\n  - {id: d1, form: cash_trust, amount: '5', currency: USD, held_at: X}\n"
            },
            ("reserve.yaml", None, "deposits.0.currency", "USD differs from the reporting currency JPY"),
        ),
        (
            {"assets_csv": "asset,kind,scale,price\nBTC,crypto,8,1\nETH,crypto,18,1\nJPY,fiat,0,2\n"},
            ("assets.csv", None, "price", "JPY is the reporting currency, so its price must be 1, got 2"),
        ),
        ({"wallets_csv": None}, ("wallets.csv", None, None, "required file is missing")),
        (
            {"exchange_yaml": FILES["exchange.yaml"].replace("JP\n", "XX\n", 1)},
            (
                "exchange.yaml",
                None,
                "jurisdiction",
                "Input should be 'JP', 'EU', 'HK', 'KR', 'SG', 'US', 'GB', 'AE', 'BH', 'TW' or 'OTHER'",
            ),
        ),
        (
            {
                "exchange_yaml": FILES["exchange.yaml"].replace(
                    "as_of: 2026-09-30T15:00:00+00:00", "as_of: soon"
                )
            },
            ("exchange.yaml", None, "as_of", "Input should be a valid datetime or date, input is too short"),
        ),
        (
            {"insurance_yaml": "policies:\n  - id: p1\n    limit: [\n"},
            (
                "insurance.yaml",
                4,
                "1",  # line 4 is empty: the parser stops at its first column
                "not valid YAML: expected the node content, but found '<stream end>'",
            ),
        ),
    ],
)
def test_each_bad_input_is_named(tmp_path, replace, expected):
    found = problems(tmp_path, **replace)
    assert expected in found, found


def test_all_problems_are_collected_at_once(tmp_path):
    found = problems(
        tmp_path,
        balances_csv=BAL + "A1,BTC,x\nA2,BTC,-1\nA3,XYZ,1\n",
        volumes_csv="date,category,notional\n2026-13-01,swap,1\n",
    )
    assert [(f, r, c) for f, r, c, _ in found] == [
        ("balances.csv", 2, "amount"),
        ("balances.csv", 3, "amount"),
        ("volumes.csv", 2, "date"),
        ("volumes.csv", 2, "category"),
        ("balances.csv", 4, "asset"),
    ]


def test_parquet_rows_are_numbered_from_one(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    root = write_snapshot(tmp_path / "s", balances_csv=None)
    pq.write_table(
        pa.table(
            {
                "account_id": ["A1", "A2"],
                "asset": ["BTC", "BTC"],
                "amount": pa.array(["1", "-2"]).cast(pa.decimal128(38, 18)),
            }
        ),
        root / "balances.parquet",
    )
    found = [(p.file, p.row, p.column) for p in validate(root)]
    assert found == [("balances.parquet", 2, "amount")]


def test_cli_exits_2_with_named_problems_and_writes_nothing(tmp_path):
    root = write_snapshot(tmp_path / "s", balances_csv=BAL + "A1,BTC,abc\n")
    before = sorted((p.name, p.stat().st_mtime_ns) for p in root.iterdir())
    cwd_before = sorted(os.listdir(tmp_path))
    result = CliRunner().invoke(app, ["validate", str(root)])
    assert result.exit_code == 2
    assert "balances.csv, row 2, column amount: not a decimal number: 'abc'" in result.output
    assert "Traceback" not in result.output
    assert sorted((p.name, p.stat().st_mtime_ns) for p in root.iterdir()) == before
    assert sorted(os.listdir(tmp_path)) == cwd_before


def test_cli_clean_snapshot_exits_0(tiny):
    result = CliRunner().invoke(app, ["validate", str(tiny)])
    assert result.exit_code == 0, result.output
    assert "valid" in result.output
    assert "balances.csv" in result.output


def write_balances_parquet(root: Path, rows: list[tuple[str, str, str]], kind=None) -> None:
    from decimal import Decimal

    import pyarrow as pa
    import pyarrow.parquet as pq

    accounts, assets, amounts = zip(*rows, strict=True)
    pq.write_table(
        pa.table(
            {
                "account_id": list(accounts),
                "asset": list(assets),
                "amount": pa.array([Decimal(a) for a in amounts], kind or pa.decimal128(38, 18)),
            }
        ),
        root / "balances.parquet",
    )


def parquet_problems(tmp_path: Path, rows, kind=None) -> list[tuple[int | None, str | None, str]]:
    root = write_snapshot(tmp_path / "s", balances_csv=None)
    write_balances_parquet(root, rows, kind)
    return [(p.row, p.column, p.message) for p in validate(root) if p.file == "balances.parquet"]


def test_decimal_parquet_amounts_are_checked_as_numbers_with_the_same_findings(tmp_path):
    # the same faults the text checks find, on a DECIMAL column: negative, finer than the
    # asset's scale (BTC 8, JPY 0; ETH's 18 is the column's own), an account not listed
    rows = [
        ("A1", "BTC", "1.5"),
        ("A1", "JPY", "100000.5"),  # row 2: yen has no fractions
        ("A2", "BTC", "0.000000001"),  # row 3: below a satoshi
        ("A2", "ETH", "0.000000000000000001"),  # fine: one wei
        ("A3", "BTC", "-0.5"),  # row 5: negative (not also "finer")
        ("A3", "JPY", "12345678901234567890"),  # fine: 20 integer digits, 2^64 < value
        ("A9", "JPY", "1"),  # row 7: not in accounts.csv
    ]
    found = parquet_problems(tmp_path, rows)
    assert found == [
        (5, "amount", "negative amount '-0.5' (amounts are >= 0)"),
        (2, "amount", "'100000.5' is finer than the asset's scale"),
        (3, "amount", "'0.000000001' is finer than the asset's scale"),
        (7, "account_id", "account 'A9' is not in accounts.csv"),
    ]


def test_decimal_parquet_wide_columns_and_unsorted_duplicates(tmp_path):
    import pyarrow as pa

    # DECIMAL(38, 0) can hold 21 integer digits: the engine's DECIMAL(38, 18) cannot
    rows = [("A1", "JPY", "123456789012345678901"), ("A2", "JPY", "5"), ("A1", "JPY", "7")]
    found = parquet_problems(tmp_path, rows, pa.decimal128(38, 0))
    assert found == [
        (1, "amount", "'123456789012345678901' has more than 20 integer digits"),
        (3, "account_id, asset", "duplicate (account_id, asset) = (A1, JPY); first at row 1"),
    ]


def test_sorted_keys_skip_the_duplicate_search_and_still_catch_adjacent_repeats(tmp_path):
    rows = [("A1", "BTC", "1"), ("A1", "JPY", "2"), ("A1", "JPY", "3"), ("A2", "BTC", "1")]
    assert parquet_problems(tmp_path, rows) == [
        (3, "account_id, asset", "duplicate (account_id, asset) = (A1, JPY); first at row 2")
    ]
    assert parquet_problems(tmp_path, [r for i, r in enumerate(rows) if i != 2]) == []


def test_floating_point_parquet_amounts_are_refused(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    root = write_snapshot(tmp_path / "s", balances_csv=None)
    table = pa.table({"account_id": ["A1"], "asset": ["BTC"], "amount": pa.array([0.1], pa.float64())})
    pq.write_table(table, root / "balances.parquet")
    found = [(p.file, p.row, p.column, p.message) for p in validate(root)]
    assert len(found) == 1
    assert found[0][:3] == ("balances.parquet", None, "amount")
    assert found[0][3].startswith("stored as binary floating point (double)")
