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


def _wallets_snapshot(tmp_path, assets: str, balances: str, wallets: str):
    from tests.rules.helpers import exchange_yaml, write

    return write(
        tmp_path / "w",
        {
            "exchange.yaml": exchange_yaml("JP", "JPY", "custody"),
            "assets.csv": "asset,kind,scale,price\n" + assets,
            "balances.csv": "account_id,asset,amount\n" + balances,
            "wallets.csv": "wallet_id,asset,storage,owner,amount\n" + wallets,
            "volumes.csv": "date,category,notional\n",
        },
    )


def test_customer_money_in_a_plain_bank_account_is_not_in_trust(tmp_path):
    # PSA 63-11(1) + Ordinance Art. 26: customer money must be entrusted (信託) to a trust company
    # or bank. ¥100,000 owed; ¥60,000 in a 利用者区分管理信託, ¥40,000 in a plain bank deposit.
    # In trust: 60,000 < 1 × 100,000 -> breach; the bank's 40,000 is shown, not counted.
    # (Planted bug caught: engine._slot mapping `bank` to trust money made this pass.)
    root = _wallets_snapshot(
        tmp_path,
        "BTC,crypto,8,15000000\nJPY,fiat,0,1\n",
        "A1,BTC,1\nA1,JPY,100000\n",
        "c,BTC,cold,customer,1\nt,JPY,fiat_trust,customer,60000\nb,JPY,bank,customer,40000\n",
    )
    (trust,) = findings(run(root, "jp-custody"), "jp.psa.63-11(1)")
    assert trust.severity is Severity.BREACH
    assert "in trust 60000 < owed 100000" in trust.message
    assert "40000 in plain bank accounts is not a trust" in trust.message
    assert trust.citation.article == "63-11(1)"


def test_electronic_payment_instruments_leave_the_five_percent_base(tmp_path):
    # PSA Art. 2(14): 電子決済手段 are not 暗号資産, so Ordinance 27(2)'s base excludes them.
    # BTC at ¥15,000,000: 1 hot + 18 cold -> hot ¥15,000,000 of ¥285,000,000 = 5.2631578..% > 5%.
    # USDC (epi) at ¥150: 1,000,000 cold = ¥150,000,000. Counted in the base it would read
    # 15 / 435 = 3.448% and hide the breach (the bug).
    root = _wallets_snapshot(
        tmp_path,
        "BTC,crypto,8,15000000\nUSDC,epi,6,150\n",
        "A1,BTC,19\nA1,USDC,1000000\n",
        "h,BTC,hot,customer,1\nc,BTC,cold,customer,18\ng,BTC,cold,guarantee,1\nu,USDC,cold,customer,1000000\n",
    )
    (finding,) = findings(run(root, "jp-custody"), "jp.ordinance.27(2)")
    assert finding.severity is Severity.BREACH
    assert "15000000 JPY = 5.2631% of 285000000 JPY" in finding.message
    assert "outside the base: USDC" in finding.message


def test_unclassified_stablecoin_takes_the_stricter_reading(tmp_path):
    # Same holdings, USDC declared only as `stablecoin`: with it 15/435 = 3.4482%, without it
    # 15/285 = 5.2631%; the stricter reading applies (breach) and a warning asks for crypto or epi.
    root = _wallets_snapshot(
        tmp_path,
        "BTC,crypto,8,15000000\nUSDC,stablecoin,6,150\n",
        "A1,BTC,19\nA1,USDC,1000000\n",
        "h,BTC,hot,customer,1\nc,BTC,cold,customer,18\ng,BTC,cold,guarantee,1\nu,USDC,cold,customer,1000000\n",
    )
    found = findings(run(root, "jp-custody"), "jp.ordinance.27(2)")
    assert [f.severity for f in found] == [Severity.BREACH, Severity.WARNING]
    assert "5.2631%" in found[0].message
    assert "USDC: kind stablecoin does not say" in found[1].message


def test_guarantee_crypto_in_a_hot_wallet_does_not_count(tmp_path):
    # PSA 63-11-2: 履行保証暗号資産 must be managed by the Ordinance's safe method.
    # 1 BTC of customer crypto hot; 1 BTC of guarantee crypto, but in a hot wallet -> counted 0,
    # short 1 BTC. (Planted bug caught: the guarantee slot ignored storage.)
    root = _wallets_snapshot(
        tmp_path,
        "BTC,crypto,8,15000000\n",
        "A1,BTC,20\n",
        "h,BTC,hot,customer,1\nc,BTC,cold,customer,19\ng,BTC,hot,guarantee,1\n",
    )
    (finding,) = findings(run(root, "jp-custody"), "jp.psa.63-11-2")
    assert finding.severity is Severity.BREACH
    assert "managed safely 0 < 1 held hot" in finding.message
    assert "1 BTC of guarantee crypto sits in hot wallets" in finding.message


def test_a_breach_prints_enough_digits_to_show_it(tmp_path):
    # hot 1.00000001 BTC × ¥15,000,000 = ¥15,000,000.15; total 20 BTC = ¥300,000,000.
    # share = 15,000,000.15 / 300,000,000 = 0.0500000005 = 5.00000005%: floored to 4 places it
    # would print "5.0000%", the limit itself; 8 places are the first to show it above 5%.
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
    assert "= 5.00000005% of 300000000 JPY" in finding.message
    assert "5.0000%" not in finding.message


def test_every_finding_cites_the_parameter_it_applies(tmp_path):
    # Segregation (PSA 63-11(2)) used to cite a module constant; now every jp-custody finding's
    # citation is the citation of one of the parameters the assessment used (one place: YAML).
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
    (a,) = run(root, "jp-custody").assessments
    cited = {p.citation for p in a.parameters}
    assert {f.rule for f in a.findings} >= {"jp.psa.63-11(2)", "jp.psa.63-11(1)", "jp.psa.63-11-2"}
    assert all(f.citation in cited for f in a.findings)
    (seg,) = [f for f in a.findings if f.rule == "jp.psa.63-11(2)"]
    assert seg.citation.note and "identifiable" in seg.citation.note
