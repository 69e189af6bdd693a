"""Issue 17: tables on an 80-column terminal never cut a number; messages group their numbers.

Each command runs in a subprocess attached to a pseudo-terminal of 80 columns (rich sizes
its tables from the terminal), as a person at a default terminal would see it.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import re
import struct
import subprocess
import sys
import termios
from decimal import Decimal
from pathlib import Path

import pytest

from caspr.snapshot.generator import generate

CASPR = [sys.executable, "-m", "caspr.cli.main"]
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def on_terminal(*args: str | Path, columns: int = 80) -> tuple[int, str]:
    """Run ``caspr ARGS`` with stdout and stderr on a pty ``columns`` wide; (exit code, text)."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 60, columns, 0, 0))
    env = {**os.environ, "COLUMNS": str(columns), "LINES": "60", "NO_COLOR": "1", "TERM": "xterm"}
    process = subprocess.Popen([*CASPR, *map(str, args)], stdout=slave, stderr=slave, env=env)
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the pty closes when the process exits
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    text = b"".join(chunks).decode("utf-8").replace("\r\n", "\n")
    return process.wait(timeout=240), ANSI.sub("", text)  # bold and italic codes are not columns


def run_json(*args: str | Path) -> object:
    command = [*CASPR, *map(str, args), "--format", "json"]
    result = subprocess.run(command, check=False, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def shown(value: str) -> str:
    """A quantity as the tables show it: 4 decimals at most, trailing zeros dropped, grouped."""
    return f"{Decimal(value).quantize(Decimal('0.0001')).normalize():,f}"


@pytest.fixture(scope="module")
def exchange(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # jp-large at 400 accounts: SHIB balances in the tens of millions with 4 decimals shown
    out = tmp_path_factory.mktemp("tables") / "jp"
    generate(out, 400, 7, "jp-large", "csv", dt.date(2026, 9, 30))
    return out


def fits(text: str) -> None:
    assert "…" not in text, text  # rich's ellipsis: a cell was cut
    widest = max(len(line) for line in text.splitlines())
    assert widest <= 80, text


def test_custody_at_80_columns_shows_every_amount_whole(exchange: Path) -> None:
    code, text = on_terminal("custody", exchange)
    assert code == 0
    fits(text)
    document = run_json("custody", exchange)
    shib = next(a for a in document["assets"] if a["asset"] == "SHIB")
    owed = shown(shib["liabilities"])
    assert len(owed) >= 14  # wide enough that 80 columns used to cut it ("74,627,16…")
    assert owed in text
    # messages group their numbers like the tables: "1,439,457 JPY", not "1439457 JPY"
    finding = next(f for f in document["findings"] if f["rule"] == "jp.ordinance.27(2)")
    raw = next(word for word in finding["message"].split() if word.isdigit() and len(word) > 6)
    assert f"{int(raw):,}" in " ".join(text.split())


def test_assess_and_distribute_at_80_columns_cut_nothing(exchange: Path, tmp_path: Path) -> None:
    code, text = on_terminal("assess", exchange)
    assert code == 0
    fits(text)
    code, text = on_terminal("distribute", exchange, "--out", tmp_path / "d")
    assert code == 0
    fits(text)
    summary = json.loads((tmp_path / "d" / "summary.json").read_text(encoding="utf-8"))
    shib = next(a for a in summary["assets"] if a["asset"] == "SHIB")
    assert shib["pool"] in text  # the distribution table prints amounts exactly


def test_incidents_and_backtest_at_80_columns() -> None:
    code, text = on_terminal("incidents")
    assert code == 0
    fits(text)
    assert "bybit-2025" in text  # ids whole, not "bybit-2…"
    code, text = on_terminal("backtest")
    assert code == 0
    fits(text)
    # 2 of the 12 cases are covered: 16.67% rounded, not 16.66% truncated
    assert "2 of 12 incidents (16.67%)" in " ".join(text.split())
