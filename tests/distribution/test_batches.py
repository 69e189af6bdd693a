"""Payout batches: recorded once, conflicts named, and a run killed mid-way repeats nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from caspr.distribution import batches
from caspr.errors import IdempotencyConflict, InvariantViolation


def payouts(n, amount="1"):
    return [batches.Payout("run1", f"A{i:06d}", "BTC", amount, "R1", "round", "direct") for i in range(n)]


def test_recording_twice_is_a_noop(tmp_path):
    ledger = tmp_path / "ledger.sqlite"
    first = batches.record(ledger, payouts(2500), batch_size=1000)
    again = batches.record(ledger, payouts(2500), batch_size=1000)
    assert (first.recorded, first.already) == (2500, 0)
    assert (again.recorded, again.already) == (0, 2500)
    assert batches.count(ledger) == 2500


def test_same_id_different_body_is_a_named_conflict(tmp_path):
    ledger = tmp_path / "ledger.sqlite"
    batches.record(ledger, payouts(3))
    with pytest.raises(IdempotencyConflict) as error:
        batches.record(ledger, payouts(3, amount="2"))
    assert error.value.field == "amount"
    assert batches.count(ledger) == 3


SLOW_WRITER = """
import sys, time
from pathlib import Path
from caspr.distribution import batches
def slow():
    for i in range(20000):
        if i % 1000 == 0:
            time.sleep(0.05)
        yield batches.Payout("run1", f"A{i:06d}", "BTC", "1", "R1", "round", "direct")
batches.record(Path(sys.argv[1]), slow(), batch_size=500)
"""


def test_a_run_killed_mid_way_then_rerun_records_each_payout_once(tmp_path):
    ledger = tmp_path / "ledger.sqlite"
    script = tmp_path / "writer.py"
    script.write_text(SLOW_WRITER)
    process = subprocess.Popen([sys.executable, str(script), str(ledger)])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        time.sleep(0.05)
        if ledger.exists() and 0 < batches.count(ledger) < 20000:
            break
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    partial = batches.count(ledger)
    assert 0 < partial < 20000
    assert partial % 500 == 0  # whole batches only
    result = batches.record(ledger, payouts(20000), batch_size=500)
    assert result.already == partial
    assert result.recorded == 20000 - partial
    assert batches.count(ledger) == 20000


def test_the_ledger_is_reconciled_with_the_plan(tmp_path, monkeypatch):
    # Σ recorded = Σ planned per run and asset. Planted bug: a conflict check that lets a changed
    # amount through ("already there") would leave 3 BTC recorded for a plan paying 6; the
    # reconciliation names the run and asset.
    ledger = tmp_path / "ledger.sqlite"
    batches.record(ledger, payouts(3))
    monkeypatch.setattr(batches, "_same_or_conflict", lambda con, payout: None)
    with pytest.raises(
        InvariantViolation, match=r"ledger-equals-plan.*run1, BTC: recorded 3 but the plan pays 6"
    ):
        batches.record(ledger, payouts(3, amount="2"))


def test_a_payout_of_the_run_that_the_plan_does_not_have_is_caught(tmp_path):
    # An earlier plan recorded A999999 under the same run id; this plan does not pay it.
    ledger = tmp_path / "ledger.sqlite"
    batches.record(ledger, [batches.Payout("run1", "A999999", "BTC", "0.5", "R1", "round", "direct")])
    with pytest.raises(InvariantViolation, match=r"recorded 3\.5 but the plan pays 3"):
        batches.record(ledger, payouts(3))
