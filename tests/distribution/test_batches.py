"""Payout batches: recorded once, conflicts named, and a run killed mid-way repeats nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from caspr.distribution import batches
from caspr.errors import IdempotencyConflict


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
