"""Custody: reconciliation per asset, each regime's method, agreement with assess."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from typer.testing import CliRunner

from caspr.assess import assess
from caspr.cli.main import app
from caspr.custody import custody_report, total_shortfall_value
from caspr.rules.regime import Severity
from caspr.snapshot.loader import load_snapshot
from tests.conftest import FILES, write_snapshot
from tests.rules.helpers import btc_snapshot


def test_tiny_snapshot_reconciles_exactly(tiny):
    report = custody_report(load_snapshot(tiny))
    btc = next(r for r in report.assets if r.asset == "BTC")
    # owed 1.5 + 0.25000001; customer wallets 0.05 hot + 1.70000001 cold
    assert btc.liabilities == Decimal("1.75000001")
    assert btc.difference == 0
    assert btc.company_held == Decimal(2)
    assert not [f for f in report.findings if f.rule == "custody.segregation"]


def test_shortfall_and_excess_are_not_netted(tmp_path):
    wallets = FILES["wallets.csv"].replace(
        "btc-cold,BTC,cold,customer,1.70000001", "btc-cold,BTC,cold,customer,1.69000001"
    )
    wallets = wallets.replace(
        "eth-cold,ETH,cold,customer,10.000000000000000001", "eth-cold,ETH,cold,customer,12.000000000000000001"
    )
    report = custody_report(load_snapshot(write_snapshot(tmp_path / "s", wallets_csv=wallets)))
    seg = {f.message.split(":")[0]: f for f in report.findings if f.rule == "custody.segregation"}
    assert seg["BTC"].severity is Severity.BREACH
    assert "short 0.01" in seg["BTC"].message
    assert "company wallets hold 2 BTC" in seg["BTC"].message
    assert seg["ETH"].severity is Severity.WARNING  # 2 ETH more than owed: company assets mixed in
    # the ETH excess (¥1,000,000) does not offset the BTC shortfall (0.01 × ¥15,000,000)
    assert total_shortfall_value(report) == Decimal(150_000)


def test_custody_and_assess_agree_on_japanese_findings(tmp_path):
    root = btc_snapshot(
        tmp_path / "s",
        jurisdiction="JP",
        currency="JPY",
        fiat_scale=0,
        price="15000000",
        hot="1.00000001",
        cold="18.99999999",
        guarantee="0.5",
    )
    snapshot = load_snapshot(root)
    custody = {(f.rule, f.message) for f in custody_report(snapshot).findings if f.rule.startswith("jp.")}
    (jp,) = assess(snapshot, "jp-custody").assessments
    assessed = {(f.rule, f.message) for f in jp.findings}
    assert custody
    assert custody <= assessed


def test_methods_differ_by_regime(tmp_path):
    # 3 BTC hot, 97 cold: Japan (≤5% non-cold) passes, Hong Kong (≥98% cold) fails
    root = btc_snapshot(
        tmp_path / "s",
        jurisdiction="JP",
        currency="JPY",
        fiat_scale=0,
        price="1000",
        hot="3",
        cold="97",
        guarantee="3",
    )
    methods = {m.regime: m for m in custody_report(load_snapshot(root)).methods}
    assert methods["jp-custody"].passed
    assert not methods["hk-sfc"].passed
    assert methods["hk-sfc"].cold_share == Decimal("0.97")
    assert not methods["kr-vaupa"].passed  # no price history: Korea's economic value is not established
    assert methods["bh-cbb"].passed


def test_korea_does_not_call_two_days_of_prices_a_one_year_average(tmp_path):
    # hot 1 BTC, cold 4 BTC: 80% cold by quantity. Two prices in the year before 2026-09-30 are
    # not the Decree's one-year average (economic value): a valuation warning, and the cold test
    # is not established (a warning, not a pass), even though one asset's share is price-free.
    prices = "date,asset,price\n2026-01-01,BTC,90\n2026-06-01,BTC,110\n"
    root = btc_snapshot(
        tmp_path / "s", jurisdiction="KR", currency="KRW", fiat_scale=0, price="100", hot="1", cold="4"
    )
    (root / "prices.csv").write_text(prices)
    report = custody_report(load_snapshot(root))
    (valuation,) = [f for f in report.findings if f.rule == "kr.vaupa.valuation"]
    assert "BTC 2 of 365 days" in valuation.message
    (finding,) = [f for f in report.findings if f.rule == "kr.vaupa.cold"]
    assert finding.severity is Severity.WARNING
    assert "not established" in finding.message
    assert "one-year average KRW prices," not in finding.message
    assert not {m.regime: m for m in report.methods}["kr-vaupa"].passed


def test_korea_uses_one_year_average_prices(tmp_path):
    # hot 1 BTC, cold 4 BTC, every day of 2025-09-30 .. 2026-09-29 priced: 80% cold exactly, passes.
    days = [dt.date(2025, 9, 30) + dt.timedelta(days=n) for n in range(365)]
    prices = "date,asset,price\n" + "".join(
        f"{d.isoformat()},BTC,{90 + n % 21}\n" for n, d in enumerate(days)
    )
    root = btc_snapshot(
        tmp_path / "s", jurisdiction="KR", currency="KRW", fiat_scale=0, price="100", hot="1", cold="4"
    )
    (root / "prices.csv").write_text(prices)
    report = custody_report(load_snapshot(root))
    (finding,) = [f for f in report.findings if f.rule == "kr.vaupa.cold"]
    assert finding.severity is Severity.INFO
    assert "one-year average KRW prices, 2025-09-30 to 2026-09-29" in finding.message


def test_cli_custody_json_and_fail_on_breach(tmp_path):
    root = btc_snapshot(
        tmp_path / "s",
        jurisdiction="JP",
        currency="JPY",
        fiat_scale=0,
        price="15000000",
        hot="1",
        cold="19",
        guarantee="1",
        liabilities="21",
    )
    runner = CliRunner()
    result = runner.invoke(app, ["custody", str(root), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert '"difference": "-1"' in result.output
    assert runner.invoke(app, ["custody", str(root), "--fail-on-breach"]).exit_code == 1
