"""jp-crypto-reserve (proposed): the structure computed by hand on the tiny snapshot.

Tiny snapshot (tests/conftest.py), as_of 2026-09-30, prices BTC ¥15,000,000, ETH ¥500,000:
  trailing 12 months (2025-09-30 .. 2026-09-29): spot 2,000 + 3,000 = 5,000; margin 7,000
  volume   = 5,000 × 0.0005 + 7,000 × 0.0002 = 2.5 + 1.4 = 3.9
  hot      = 0.05 BTC × 15,000,000 = 750,000            → × 0.25 = 187,500
  cold     = 1.70000001 × 15,000,000 + 10.000000000000000001 × 500,000
           = 25,500,000.15 + 5,000,000.0000000000005 (5e-13) → × 0.01 = 305,000.001500000000005
  computed = 492,503.901500000000005 → below the floor of ¥50,000,000
"""

from __future__ import annotations

from decimal import Decimal

from caspr.assess import assess
from caspr.citation import Status
from caspr.snapshot.loader import load_snapshot
from tests.conftest import FILES, write_snapshot
from tests.rules.helpers import write


def reserve(root, overrides=None):
    (a,) = assess(load_snapshot(root), "jp-crypto-reserve", None, overrides).assessments
    return a


def test_floor_binds_for_a_tiny_exchange(tiny):
    a = reserve(tiny)
    assert a.status is Status.PROPOSED
    assert a.requirement.amount == Decimal(50_000_000)
    volume, custody, incident = a.requirement.children
    assert volume.amount == Decimal("3.9")
    assert custody.amount == Decimal("492500.001500000000005")
    assert incident.amount == 0
    # funding: cash trust 500,000 + insurance (1,000,000 − 10,000), cap 0.5 × 50,000,000 not binding
    assert a.reserve == Decimal(500_000)
    assert a.insurance == Decimal(990_000)
    assert a.funding.amount == Decimal(1_490_000)
    # a proposed rule projects; it never reports a breach of law
    assert a.breaches == ()
    assert [f.rule for f in a.projections] == ["jp.reserve.funding"]
    assert all(c.citation.status is Status.PROPOSED for c in (volume.children[0], custody.children[0]))


def test_reform_removes_the_floor_and_the_cap_binds(tiny):
    a = reserve(tiny, {"jp-crypto-reserve": {"floor": Decimal(0)}})
    assert a.requirement.amount == Decimal(492_504)  # 492,503.9015 rounded up
    # insurance capped at floor(0.5 × 492,504) = 246,252; funding 500,000 + 246,252
    assert a.insurance == Decimal(246_252)
    assert a.funding.amount == Decimal(746_252)
    assert a.coverage_ratio == Decimal("1.5152")  # 746,252 / 492,504 = 1.51522.. floored
    assert not a.breaches
    (overridden,) = a.overridden
    assert overridden.name == "floor"
    assert "replaces 50000000" in overridden.citation.note


def test_incident_experience_adds_annualised_losses(tmp_path):
    exchange = FILES["exchange.yaml"] + '  incident_losses_3y: "3000000"\n'
    root = write_snapshot(tmp_path / "s", exchange_yaml=exchange)
    a = reserve(root, {"jp-crypto-reserve": {"floor": Decimal(0)}})
    # 1 × 3,000,000 ÷ 3 = 1,000,000 added: 1,492,503.9015 → 1,492,504
    assert a.requirement.children[2].amount == Decimal(1_000_000)
    assert a.requirement.amount == Decimal(1_492_504)


def test_expired_or_affiliated_policy_does_not_count(tmp_path):
    insurance = FILES["insurance.yaml"].replace("expires: 2027-01-01", "expires: 2026-09-30")
    a = reserve(write_snapshot(tmp_path / "s", insurance_yaml=insurance))
    assert a.insurance == 0  # in force means starts ≤ as_of < expires
    insurance = FILES["insurance.yaml"].replace("insurer_affiliated: false", "insurer_affiliated: true")
    a = reserve(write_snapshot(tmp_path / "t", insurance_yaml=insurance))
    assert a.insurance == 0


MID = {
    "exchange.yaml": FILES["exchange.yaml"].replace("tiny-jp", "mid-jp")
    + '  incident_losses_3y: "30000001"\n',
    "assets.csv": "asset,kind,scale,price\nBTC,crypto,8,10000000\nETH,crypto,18,400000\nJPY,fiat,0,1\n",
    "balances.csv": "account_id,asset,amount\nA1,BTC,200\nA2,ETH,1500\n",
    "wallets.csv": (
        "wallet_id,asset,storage,owner,amount\n"
        "btc-hot,BTC,hot,customer,10\n"
        "btc-cold,BTC,cold,customer,190\n"
        "eth-cold,ETH,cold,customer,1000\n"
        "eth-cust,ETH,custodian,customer,500\n"
        "btc-own,BTC,hot,company,7\n"
    ),
    "volumes.csv": (
        "date,category,notional\n"
        "2025-09-29,spot,999999999999\n"  # the day before the window: not counted
        "2026-03-01,spot,60000000000\n"
        "2026-09-29,spot,40000000000\n"
        "2026-05-01,margin,20000000000\n"
        "2026-05-01,derivative,10000000000\n"
        "2026-05-01,otc,1000000000\n"
        "2026-09-30,otc,999999999999\n"  # as_of itself: not counted
    ),
    "insurance.yaml": FILES["insurance.yaml"]
    .replace('"1000000"', '"100000000"')
    .replace('"10000"', '"1000000"'),
    "reserve.yaml": FILES["reserve.yaml"].replace('"500000"', '"40000000"')
    + '  - id: g1\n    form: bank_guarantee\n    amount: "10000000"\n    currency: JPY\n    held_at: Example Bank\n',
}


def test_a_mid_sized_exchange_computed_by_hand(tmp_path):
    # Every component binds above the floor; the arithmetic, with the proposed defaults:
    #   volume  spot (60bn + 40bn) × 0.0005 = 50,000,000; margin 20bn × 0.0002 = 4,000,000;
    #           derivative 10bn × 0.0002 = 2,000,000; otc ("other") 1bn × 0.0003 = 300,000
    #           = 56,300,000 (rows on 2025-09-29 and on as_of are outside the window)
    #   custody hot 10 BTC × ¥10,000,000 = 100,000,000 × 0.25 = 25,000,000
    #           cold 190 BTC × 10,000,000 + (1000 cold + 500 custodian) ETH × 400,000
    #              = 1,900,000,000 + 600,000,000 = 2,500,000,000 × 0.01 = 25,000,000
    #           (the company's own 7 BTC hot are not customer crypto)
    #   incident 1 × 30,000,001 ÷ 3 = 10,000,000.333…
    #   computed 116,300,000.333… > floor 50,000,000 -> rounded up: 116,300,001
    # funding: cash trust 40,000,000 (the bank guarantee is not a reserve) + insurance
    #   min(100,000,000 − 1,000,000, floor(0.5 × 116,300,001) = 58,150,000) = 58,150,000
    #   = 98,150,000 < 116,300,001: short 18,150,001
    a = reserve(write(tmp_path / "mid", MID))
    volume, custody, incident = a.requirement.children
    assert {c.name: c.amount for c in volume.children} == {
        "volume derivative": Decimal(2_000_000),
        "volume margin": Decimal(4_000_000),
        "volume otc": Decimal(300_000),
        "volume spot": Decimal(50_000_000),
    }
    assert volume.amount == Decimal(56_300_000)
    assert [c.amount for c in custody.children] == [Decimal(25_000_000), Decimal(25_000_000)]
    assert incident.amount == Decimal(30_000_001) / 3
    assert a.requirement.amount == Decimal(116_300_001)
    assert a.reserve == Decimal(40_000_000)
    assert a.insurance == Decimal(58_150_000)
    assert a.funding.amount == Decimal(98_150_000)
    # a projection under the proposed rule, never a breach of law
    assert a.breaches == ()
    (projection,) = [f for f in a.projections if f.rule == "jp.reserve.funding"]
    assert projection.message == (
        "assets set aside 98150000 < projected requirement 116300001 JPY (short 18150001); proposed rule, not law"
    )


def test_a_projected_shortfall_is_never_a_breach_of_law(tiny):
    # Tiny snapshot: projected requirement ¥50,000,000 (floor), assets set aside 1,490,000:
    # short 48,510,000. The rule is proposed: severity projection, labelled in the JSON, and
    # --fail-on-breach ignores it unless --include-proposed. (Planted bug caught: the proposed
    # regime raising Severity.BREACH made a compliant exchange exit 1.)
    report = assess(load_snapshot(tiny), "jp-crypto-reserve")
    (a,) = report.assessments
    (projection,) = a.projections
    assert (
        "assets set aside 1490000 < projected requirement 50000000 JPY (short 48510000)" in projection.message
    )
    assert not report.breached
    assert report.fails(include_proposed=False) is False
    assert report.fails(include_proposed=True) is True
    document = report.to_dict()["assessments"][0]
    assert document["legal_effect"] == "proposed rule: results are projections, not law"
    (row,) = [f for f in document["findings"] if f["severity"] == "projection"]
    assert row["legal_effect"] == "projection under a proposed rule: not law, no legal effect"


def test_a_breach_raised_by_a_proposed_regime_becomes_a_projection(tiny):
    # The guard lives in rules.regime.assessment(): whatever a proposed module writes, no breach.
    from caspr.assess import build_context
    from caspr.rules.jp_crypto_reserve import REGIME
    from caspr.rules.regime import Finding, Severity, assessment

    snapshot = load_snapshot(tiny)
    (a,) = assess(snapshot, "jp-crypto-reserve").assessments
    ctx = build_context(snapshot, snapshot.exchange.as_of_date)
    from caspr.assess import regime_parameters
    from caspr.params import ParameterView

    params = ParameterView(REGIME.id, regime_parameters(REGIME.parameters_dir), ctx.as_of)
    forged = [Finding("jp.reserve.x", Severity.BREACH, "forged")]
    out = assessment(REGIME, ctx, params, a.requirement, a.funding, a.reserve, a.insurance, forged)
    assert [f.severity for f in out.findings] == [Severity.PROJECTION]


def test_booked_reserve_is_shown_beside_the_assets_set_aside(tmp_path):
    # FIEA 46-5 analogue: the securities reserve is a liability booked through P&L. reserve.yaml
    # states ¥40,000,000 booked on 2026-09-30. Projected requirement ¥50,000,000 (floor):
    #   accounting view: 40,000,000 < 50,000,000 -> projection, short 10,000,000
    #   assets set aside: 500,000 + 990,000 = 1,490,000 (the booked amount is NOT added)
    reserve_yaml = FILES["reserve.yaml"] + (
        'booked:\n  amount: "40000000"\n  currency: JPY\n  as_of: 2026-09-30\n'
    )
    a = reserve(write_snapshot(tmp_path / "s", reserve_yaml=reserve_yaml))
    assert a.accounting is not None and a.accounting.amount == Decimal(40_000_000)
    assert a.funding.amount == Decimal(1_490_000)
    booked = [f for f in a.projections if f.rule == "jp.reserve.booked"]
    assert len(booked) == 1
    assert (
        "accounting reserve (booked) 40000000 < projected requirement 50000000 JPY (short 10000000)"
        in booked[0].message
    )
    assert a.to_dict()["accounting_reserve"]["amount"] == "40000000"
    # ¥60,000,000 booked covers the requirement in the accounting view: no booked projection
    reserve_yaml = reserve_yaml.replace('"40000000"', '"60000000"')
    a = reserve(write_snapshot(tmp_path / "t", reserve_yaml=reserve_yaml))
    assert [f.rule for f in a.projections] == ["jp.reserve.funding"]


def test_without_a_booked_figure_the_accounting_view_is_unchecked(tiny):
    (note,) = [f for f in reserve(tiny).findings if f.rule == "jp.reserve.booked"]
    assert note.message.startswith("accounting view unchecked")


def test_each_parameter_is_an_illustrative_default_that_says_why(tiny):
    # No formula, rate, floor or cap has been published (research: WG report via Nikkei); each
    # parameter must say so and give its reason, and every output carries the mark.
    from caspr.assess import regime_parameters
    from caspr.rules.jp_crypto_reserve import REGIME

    params = regime_parameters(REGIME.parameters_dir)
    assert len(params) == 10  # the nine of the issue + funding_share
    for name, param in params.items():
        assert param.file.illustrative, name
        assert len(param.file.rationale or "") > 80, name
        assert "no published source" in str(param.at(param.coverage_start()).citation)
    assert "absolute add-on" in params["incident_weight"].file.description
    assert "NOT the commodity brokers' 事故率" in params["incident_weight"].file.description
    a = reserve(tiny)
    assert all(p["illustrative"] for p in a.to_dict()["parameters"])


def test_epi_is_not_in_the_custody_component(tmp_path):
    # 電子決済手段 are not 暗号資産 (PSA Art. 2(14)); the reserve is for crypto-asset outflows.
    # Adding 1,000,000 USDC (epi, ¥150) held hot must leave the custody component at
    # 492,500.001500000000005 (the tiny snapshot's, computed in the module docstring).
    assets = FILES["assets.csv"] + "USDC,epi,6,150\n"
    balances = FILES["balances.csv"] + "A1,USDC,1000000\n"
    wallets = FILES["wallets.csv"] + "usdc-hot,USDC,hot,customer,1000000\n"
    root = write_snapshot(tmp_path / "s", assets_csv=assets, balances_csv=balances, wallets_csv=wallets)
    custody = reserve(root).requirement.children[1]
    assert custody.amount == Decimal("492500.001500000000005")


def test_cli_fail_on_breach_ignores_projections_unless_asked(tiny):
    # The tiny exchange meets Japan's custody law (jp-custody: no breach) while the proposed
    # reserve projects a ¥48,510,000 shortfall. `--fail-on-breach` exits 0; with
    # `--include-proposed` it exits 1. Every output labels the projection.
    import csv
    import io

    from typer.testing import CliRunner

    from caspr.cli.main import app

    runner = CliRunner()
    assert runner.invoke(app, ["assess", str(tiny), "--fail-on-breach"]).exit_code == 0
    strict = runner.invoke(app, ["assess", str(tiny), "--fail-on-breach", "--include-proposed"])
    assert strict.exit_code == 1
    assert "projection (proposed rule, not law)" in strict.output
    rows = list(
        csv.DictReader(io.StringIO(runner.invoke(app, ["assess", str(tiny), "--format", "csv"]).output))
    )
    (projection,) = [r for r in rows if r["part"] == "finding:projection"]
    assert projection["legal_effect"] == "projection under a proposed rule: not law, no legal effect"
    custody = [r for r in rows if r["regime"] == "jp-custody" and not r["part"].startswith("finding:")]
    assert custody and all(r["legal_effect"] == "law in force" for r in custody)
    proposed = [
        r for r in rows if r["regime"] == "jp-crypto-reserve" and not r["part"].startswith("finding:")
    ]
    assert proposed and all(r["legal_effect"].startswith("proposed rule") for r in proposed)
