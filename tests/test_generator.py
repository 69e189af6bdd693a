"""The synthetic exchange: seeded, byte-identical, valid, and shaped like its profile."""

from __future__ import annotations

import csv
import hashlib
from decimal import Decimal
from pathlib import Path

import pytest

from caspr.engine import Engine
from caspr.snapshot.generator import generate
from caspr.snapshot.loader import load_snapshot, validate
from caspr.snapshot.profiles import PROFILES


def digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path, fmt):
    a = generate(tmp_path / "a", 3000, seed=11, fmt=fmt).out
    b = generate(tmp_path / "b", 3000, seed=11, fmt=fmt).out
    c = generate(tmp_path / "c", 3000, seed=12, fmt=fmt).out
    assert digest(a) == digest(b)
    assert digest(a)[f"balances.{fmt}"] != digest(c)[f"balances.{fmt}"]


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_every_profile_generates_a_valid_snapshot(tmp_path, profile):
    out = generate(tmp_path / profile, 2000, seed=3, profile_name=profile).out
    assert validate(out) == []
    snap = load_snapshot(out)
    assert snap.exchange.jurisdiction.value == PROFILES[profile].jurisdiction
    assert snap.exchange.reporting_currency.value == PROFILES[profile].currency


def test_csv_and_parquet_carry_the_same_numbers(tmp_path):
    a = load_snapshot(generate(tmp_path / "csv", 5000, seed=5, fmt="csv").out)
    b = load_snapshot(generate(tmp_path / "pq", 5000, seed=5, fmt="parquet").out)
    assert Engine(a).liabilities() == Engine(b).liabilities()
    assert Engine(a).holdings() == Engine(b).holdings()
    assert Engine(a).trailing_volumes() == Engine(b).trailing_volumes()


def test_jp_large_is_shaped_like_the_japanese_market(tmp_path):
    snap = load_snapshot(generate(tmp_path / "jp", 60_000, seed=1).out)
    exposure = Engine(snap).exposure()
    crypto = exposure.total("liabilities")
    by_asset = {a.asset: a for a in exposure.assets}
    # incidents.md §5: BTC 59%, XRP 15%, ETH 13% of customer crypto by value (Oct 2025)
    assert Decimal("0.50") < by_asset["BTC"].liabilities_value / crypto < Decimal("0.68")
    assert Decimal("0.10") < by_asset["XRP"].liabilities_value / crypto < Decimal("0.20")
    assert Decimal("0.08") < by_asset["ETH"].liabilities_value / crypto < Decimal("0.18")
    # about ¥370,000 of customer assets per account (¥5tn over 13.47M accounts)
    per_account = (crypto + by_asset["JPY"].liabilities) / 60_000
    assert Decimal(200_000) < per_account < Decimal(700_000)
    # within Japan's limit: non-cold customer crypto ≤ 5% of its JPY value (Ordinance 27(2))
    assert exposure.total("customer_hot") / crypto < Decimal("0.05")
    for a in exposure.crypto():
        # segregated wallets hold exactly what customers are owed; guarantee = hot (PSA 63-11-2)
        assert a.customer_held == a.liabilities
        assert a.guarantee == a.customer_hot
    assert by_asset["JPY"].customer_fiat == by_asset["JPY"].liabilities  # PSA 63-11(1) trust


def test_heavy_tail_most_accounts_small_a_few_whales(tmp_path):
    out = generate(tmp_path / "jp", 20_000, seed=2).out
    per_account: dict[str, Decimal] = {}
    with (out / "balances.csv").open() as handle:
        for row in csv.DictReader(handle):
            if row["asset"] == "JPY":
                per_account[row["account_id"]] = per_account.get(row["account_id"], Decimal(0)) + Decimal(
                    row["amount"]
                )
    values = sorted(per_account.values())
    median = values[len(values) // 2]
    mean = sum(values) / len(values)
    top_share = sum(values[-len(values) // 100 :]) / sum(values)
    assert mean > 3 * median  # right-skewed
    assert top_share > Decimal("0.2")  # the top 1% hold over a fifth


def test_hot_share_knob_breaks_the_limit(tmp_path):
    snap = load_snapshot(generate(tmp_path / "broken", 2000, seed=1, hot_share=Decimal("0.08")).out)
    exposure = Engine(snap).exposure()
    ratio = exposure.total("customer_hot") / exposure.total("liabilities")
    assert Decimal("0.079") < ratio < Decimal("0.081")


def test_refuses_to_overwrite_and_leaves_nothing_half_written(tmp_path):
    out = generate(tmp_path / "x", 1000, seed=1).out
    before = digest(out)
    with pytest.raises(ValueError, match="exists"):
        generate(out, 1000, seed=2)
    assert digest(out) == before
    with pytest.raises(ValueError, match="unknown profile"):
        generate(tmp_path / "y", 1000, seed=1, profile_name="nope")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x"]
