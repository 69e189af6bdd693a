"""Issue 15, "Funding: one answer": assess, stress, incident and backtest state the same eligible funding.

The tiny Japanese snapshot (tests/conftest.py) plus a bank guarantee of ¥300,000 and a second
hot-wallet policy of ¥30,000,000. Under jp-crypto-reserve (proposed; assumptions.py):
  requirement = floor ¥50,000,000 (the computed 492,503.90 is below it)
  reserve     = cash_trust 500,000; the bank guarantee is a promise, not a reserve -> 0
  insurance   = p1 (1,000,000 − 10,000) + p2 (30,000,000 − 0) = 30,990,000 uncapped,
                capped at floor(0.5 × 50,000,000) = 25,000,000
  funding     = 500,000 + 25,000,000 = 25,500,000
Before the fix, stress counted 300,000 + 500,000 + 30,990,000 = 31,790,000 (bank guarantee
and insurance above the cap) and the incident drew 800,000 from a reserve assess put at 500,000.
"""

from __future__ import annotations

from decimal import Decimal

from caspr.assess import assess
from caspr.calibration.backtest import backtest
from caspr.calibration.model import LossModel
from caspr.calibration.stress import stress
from caspr.compensation import compensate
from caspr.compensation.incident import Incident
from caspr.snapshot.loader import load_snapshot
from tests.conftest import FILES, write_snapshot

FUNDING = Decimal(25_500_000)


def _snapshot(tmp_path):
    insurance = FILES["insurance.yaml"] + (
        "  - {id: p2, insurer: Example Cyber, insurer_affiliated: false, limit: '30000000', retention: '0',\n"
        "     basis: aggregate, covers: [hot], starts: 2026-01-01, expires: 2027-01-01, currency: JPY}\n"
    )
    reserve = FILES["reserve.yaml"] + (
        "  - {id: g, form: bank_guarantee, amount: '300000', currency: JPY, held_at: Bank, on_trust: true}\n"
    )
    return load_snapshot(write_snapshot(tmp_path / "s", insurance_yaml=insurance, reserve_yaml=reserve))


def _model() -> LossModel:
    return LossModel(
        incidents=10,
        years=10,
        exchanges_at_risk=30,
        frequency=0.05,
        yearly_counts=(1,) * 10,
        dispersion=1.0,
        dispersion_p=0.5,
        nb_size=None,
        beta_a=0.5,
        beta_b=5.0,
        beta_ks_p=0.5,
        shares=(0.1,),
        usd_lognormal=(0.0, 1.0),
        usd_threshold=1.0,
        usd_gpd=(0.5, 1.0),
        usd_tail_ks_p=0.5,
        usd_body_ks_p=0.5,
    )


def test_every_command_states_the_same_eligible_funding(tmp_path):
    snapshot = _snapshot(tmp_path)

    (reserve,) = [a for a in assess(snapshot).assessments if a.regime == "jp-crypto-reserve"]
    assert (reserve.reserve, reserve.insurance, reserve.funding.amount) == (
        Decimal(500_000),
        Decimal(25_000_000),
        FUNDING,
    )

    stressed = stress(snapshot, _model(), 1000, 1, (Decimal("0.99"),))
    assert stressed.capacity == FUNDING
    assert stressed.to_dict()["capacity_regime"] == "jp-crypto-reserve"

    incident = Incident.model_validate(
        {
            "id": "hot",
            "detected_at": "2026-09-29T00:00:00Z",
            "kind": "hot_wallet_hack",
            "outflows": [{"wallet": "btc-hot", "asset": "BTC", "amount": "0.05"}],
        }
    )
    result = compensate(snapshot, incident)
    (drawn,) = [s for s in result.steps if s.source == "reserve"]
    assert drawn.available == 500_000  # the reserve assess counts, not 800,000
    after = result.replenishment["jp-crypto-reserve"]
    assert after["funding_before"] == "25500000"
    # loss 0.05 BTC × ¥15,000,000 = ¥750,000. The reserve pays 500,000, all it has; p1 pays
    # min(1,000,000, 250,000 left − retention 10,000) = 240,000; p2 the last 10,000.
    # After: reserve 500,000 − 500,000 = 0; counted insurance 25,000,000 − 250,000 = 24,750,000.
    # Nothing uncounted (the bank guarantee) is subtracted.
    assert result.total_loss == 750_000
    paid = {s.source: s.paid for s in result.steps}
    assert (paid["reserve"], paid["insurance:p1"], paid["insurance:p2"]) == (500_000, 240_000, 10_000)
    assert after["funding_after"] == "24750000"

    back = backtest("jp-crypto-reserve", None, snapshot)
    assert back.funding is not None and back.funding.amount == FUNDING
    assert back.to_dict()["exchange_funding"]["amount"] == "25500000"
