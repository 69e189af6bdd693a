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
    assert [f.rule for f in a.breaches] == ["jp.reserve.funding"]
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
    insurance = FILES["insurance.yaml"] + "    insurer_affiliated: true\n"
    a = reserve(write_snapshot(tmp_path / "t", insurance_yaml=insurance))
    assert a.insurance == 0


def test_a_large_japanese_exchange_lands_in_the_reported_range(tmp_path):
    from caspr.snapshot.generator import generate

    out = generate(tmp_path / "jp", 200_000, seed=3).out
    a = reserve(out)
    # ¥2-40bn reported for large securities firms (regulation.md §1.2); at 200k accounts the
    # exchange is a fifth of the 1M-account "large" size, so expect ≥ ¥0.4bn and scale ~linearly
    assert Decimal(400_000_000) < a.requirement.amount < Decimal(8_000_000_000)
