"""jp-custody worked examples (Ordinance 27(2); PSA 63-11-2, 63-11(1), 63-11(2))."""

from __future__ import annotations

from caspr.rules.regime import Severity
from tests.rules.helpers import btc_snapshot, run


def findings(report, rule):
    (assessment,) = report.assessments
    return [f for f in assessment.findings if f.rule == rule]


def test_exactly_five_percent_non_cold_passes(tmp_path):
    # 1 BTC hot and 19 BTC cold at ¥15,000,000: hot ¥15,000,000 = 5% of ¥300,000,000 exactly.
    root = btc_snapshot(
        tmp_path / "s",
        jurisdiction="JP",
        currency="JPY",
        fiat_scale=0,
        price="15000000",
        hot="1",
        cold="19",
        guarantee="1",
    )
    (finding,) = findings(run(root, "jp-custody"), "jp.ordinance.27(2)")
    assert finding.severity is Severity.INFO
    assert "= 5.0000% of 300000000 JPY" in finding.message


def test_one_satoshi_over_five_percent_is_a_breach(tmp_path):
    # hot 1.00000001 BTC = ¥15,000,000.15 > 5% × ¥300,000,000 = ¥15,000,000 (total unchanged)
    root = btc_snapshot(
        tmp_path / "s",
        jurisdiction="JP",
        currency="JPY",
        fiat_scale=0,
        price="15000000",
        hot="1.00000001",
        cold="18.99999999",
        guarantee="1.00000001",
    )
    (finding,) = findings(run(root, "jp-custody"), "jp.ordinance.27(2)")
    assert finding.severity is Severity.BREACH
    assert finding.citation.article == "27(2)"


def test_custodian_counts_as_cold_management(tmp_path):
    # 1 hot, 9 cold, 10 with a custodian: non-cold = 1/20 = 5% -> passes
    root = btc_snapshot(
        tmp_path / "s",
        jurisdiction="JP",
        currency="JPY",
        fiat_scale=0,
        price="15000000",
        hot="1",
        cold="9",
        custodian="10",
        guarantee="1",
    )
    (finding,) = findings(run(root, "jp-custody"), "jp.ordinance.27(2)")
    assert finding.severity is Severity.INFO


def test_guarantee_crypto_short_by_one_satoshi(tmp_path):
    # PSA 63-11-2: guarantee 0.99999999 BTC against 1 BTC of customer crypto held hot
    root = btc_snapshot(
        tmp_path / "s",
        jurisdiction="JP",
        currency="JPY",
        fiat_scale=0,
        price="15000000",
        hot="1",
        cold="19",
        guarantee="0.99999999",
    )
    (finding,) = findings(run(root, "jp-custody"), "jp.psa.63-11-2")
    assert finding.severity is Severity.BREACH
    assert "short 0.00000001 BTC" in finding.message


def test_fiat_trust_and_segregation(tmp_path):
    # ¥100,005 owed, ¥100,004 in trust -> 63-11(1) breach; wallets hold 19.9 BTC against 20 owed -> 63-11(2)
    root = btc_snapshot(
        tmp_path / "s",
        jurisdiction="JP",
        currency="JPY",
        fiat_scale=0,
        price="15000000",
        hot="0.9",
        cold="19",
        guarantee="0.9",
        liabilities="20",
        fiat_owed="100005",
        fiat_trust="100004",
    )
    report = run(root, "jp-custody")
    (trust,) = findings(report, "jp.psa.63-11(1)")
    assert trust.severity is Severity.BREACH
    assert "100004 < owed 100005" in trust.message
    (seg,) = findings(report, "jp.psa.63-11(2)")
    assert "short 0.1 BTC" in seg.message
    assert report.assessments[0].requirement.amount == 0
    assert report.breached
