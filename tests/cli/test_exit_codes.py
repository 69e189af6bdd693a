"""Issue 17 through the real command line: each failure exits with its code and says where.

Every case runs ``caspr`` in a subprocess (the console script's ``main``), as a user would,
and checks the exit code and the message: 2 and file/line/column for bad input, nothing
written when the input is refused, 3 and a log file for a bug in caspr.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.conftest import write_snapshot

CASPR = [sys.executable, "-m", "caspr.cli.main"]


def caspr(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``caspr ARGS`` in a subprocess; COLUMNS=80 like a default terminal."""
    return subprocess.run(
        [*CASPR, *map(str, args)],
        capture_output=True,
        text=True,
        check=False,
        timeout=240,
        env={**os.environ, "COLUMNS": "80", **(env or {})},
    )


def flat(text: str) -> str:
    """``text`` with runs of whitespace made one space (rich wraps messages at 80 columns)."""
    return " ".join(text.split())


def refused(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    """Exit 2, no traceback, and every needle in the message."""
    message = flat(result.stderr + result.stdout)
    assert result.returncode == 2, message
    assert "Traceback" not in message
    for needle in needles:
        assert needle in message, message


@pytest.fixture
def snapshot(tmp_path: Path) -> Path:
    return write_snapshot(tmp_path / "snap")


def test_missing_params_file_is_exit_2_naming_it(snapshot: Path, tmp_path: Path) -> None:
    refused(caspr("assess", snapshot, "--params", tmp_path / "reform.yaml"), "reform.yaml", "cannot be read")


def test_yaml_syntax_error_names_line_and_column_in_params_incident_and_plan(
    snapshot: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("jp-crypto-reserve:\n  rate: [1\n", encoding="utf-8")
    # the flow sequence opened on line 2 is never closed: PyYAML stops at the end, line 3 column 1
    refused(caspr("assess", snapshot, "--params", bad), "bad.yaml, line 3, column 1: not valid YAML")
    refused(caspr("incident", snapshot, "--incident", bad), "bad.yaml, line 3, column 1: not valid YAML")
    out = tmp_path / "dist"
    refused(
        caspr("distribute", snapshot, "--plan", bad, "--out", out),
        "bad.yaml, line 3, column 1: not valid YAML",
    )
    assert not out.exists()


def test_shift_jis_exchange_yaml_is_refused_by_validate_naming_the_line(tmp_path: Path) -> None:
    from tests.conftest import EXCHANGE

    text = EXCHANGE.replace("Tiny Japanese exchange", "小さな取引所")
    snap = write_snapshot(tmp_path / "sj")
    (snap / "exchange.yaml").write_bytes(text.encode("shift_jis"))
    # line 2 is "name: 小さな…": the first Shift-JIS byte is the 7th of the line
    refused(caspr("validate", snap), "exchange.yaml, line 2: not UTF-8", "at byte 7 of the line", "UTF-8")


def test_malformed_csv_row_is_named(tmp_path: Path) -> None:
    snap = write_snapshot(
        tmp_path / "s",
        balances_csv="account_id,asset,amount\nA1,BTC,1.5\nA1,JPY,100000,7\nA2,BTC,0.25000001\n",
    )
    refused(caspr("validate", snap), "balances.csv, row 3: 4 fields where the header has 3")


def test_ledger_in_a_missing_folder_is_refused_before_anything_is_written(
    snapshot: Path, tmp_path: Path
) -> None:
    incident = tmp_path / "incident.yaml"
    incident.write_text(
        textwrap.dedent(
            """\
            id: t1
            detected_at: 2026-10-01T00:00:00+09:00
            kind: hot_wallet_hack
            outflows: [{wallet: btc-hot, asset: BTC, amount: "0.05"}]
            compensation: {policy: make_whole_in_kind}
            """
        ),
        encoding="utf-8",
    )
    out = tmp_path / "payouts"
    refused(
        caspr(
            "incident", snapshot, "--incident", incident, "--out", out, "--ledger", tmp_path / "no" / "l.db"
        ),
        "--ledger",
        "does not exist",
    )
    assert not out.exists()  # before the fix, payouts.csv was written and then the ledger failed
    dist = tmp_path / "dist"
    refused(caspr("distribute", snapshot, "--out", dist, "--ledger", tmp_path / "no" / "l.db"), "--ledger")
    assert not dist.exists()


def test_stress_plot_into_a_missing_folder_is_refused(snapshot: Path, tmp_path: Path) -> None:
    refused(
        caspr("stress", snapshot, "--years", "1000", "--plot", tmp_path / "no" / "curve.png"),
        "--plot",
        "does not exist",
    )


def test_stress_years_are_bounded(snapshot: Path) -> None:
    refused(caspr("stress", snapshot, "--years", "99999999999"), "--years", "10000000")


def test_distribute_and_incident_refuse_a_non_empty_out_without_force(snapshot: Path, tmp_path: Path) -> None:
    out = tmp_path / "used"
    out.mkdir()
    (out / "keep.txt").write_text("mine", encoding="utf-8")
    refused(caspr("distribute", snapshot, "--out", out), "exists and is not empty", "--force")
    assert (out / "keep.txt").read_text(encoding="utf-8") == "mine"
    incident = tmp_path / "i.yaml"
    incident.write_text(
        "id: t\ndetected_at: 2026-10-01T00:00:00+09:00\nkind: hot_wallet_hack\n"
        'outflows: [{wallet: btc-hot, asset: BTC, amount: "0.01"}]\ncompensation: {policy: make_whole_in_kind}\n',
        encoding="utf-8",
    )
    refused(caspr("incident", snapshot, "--incident", incident, "--out", out), "exists and is not empty")
    assert (out / "keep.txt").exists()
    forced = caspr("distribute", snapshot, "--out", out, "--force")
    assert forced.returncode == 0, forced.stderr
    assert (out / "distributions.csv").exists()


def test_an_internal_error_exits_3_says_bug_and_logs_the_traceback(snapshot: Path, tmp_path: Path) -> None:
    # a planted InvariantViolation inside the custody command: a bug in caspr, not bad input
    script = textwrap.dedent(
        f"""
        import sys
        import caspr.cli.assess as commands
        from caspr.cli.main import main
        from caspr.errors import InvariantViolation

        def broken(*args, **kwargs):
            raise InvariantViolation("custody-sum", "planted by the test")

        commands.custody_report = broken
        sys.argv = ["caspr", "custody", {str(snapshot)!r}]
        main()
        """
    )
    logs = tmp_path / "logs"
    logs.mkdir()
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "CASPR_LOG_DIR": str(logs)},
    )
    message = flat(result.stderr)
    assert result.returncode == 3, message
    assert "bug in caspr" in message
    assert "Please report it" in message
    assert "Traceback" not in message
    (log,) = logs.iterdir()
    assert str(log) in message
    text = log.read_text(encoding="utf-8")
    assert "Traceback" in text
    assert "planted by the test" in text


def test_version_and_help_without_bool() -> None:
    from importlib import metadata

    version = caspr("--version")
    assert version.returncode == 0
    assert version.stdout.strip() == f"caspr {metadata.version('caspr')}"
    for args in (("--help",), ("custody", "--help")):
        text = caspr(*args).stdout
        assert "--help" in text
        assert "<bool>" not in text


def test_incidents_filters_are_case_insensitive_and_name_valid_values() -> None:
    lower = caspr("incidents", "--jurisdiction", "jp", "--format", "json")
    upper = caspr("incidents", "--jurisdiction", "JP", "--format", "json")
    assert lower.returncode == 0
    rows = json.loads(lower.stdout)
    assert rows  # Coincheck, Zaif, DMM... are Japanese
    assert rows == json.loads(upper.stdout)
    refused(caspr("incidents", "--kind", "hot_walet_hack"), "--kind 'hot_walet_hack'", "hot_wallet_hack")
    refused(caspr("incidents", "--jurisdiction", "XX"), "--jurisdiction 'XX'", "JP")


def test_por_verify_takes_a_bare_root_hash_and_names_a_wrong_format(snapshot: Path, tmp_path: Path) -> None:
    store = tmp_path / "por"
    assert caspr("por", "build", snapshot, "--out", store).returncode == 0
    proof = tmp_path / "proof.json"
    proof.write_text(caspr("por", "proof", store, "--account", "A1").stdout, encoding="utf-8")
    root = json.loads((store / "root.json").read_text(encoding="utf-8"))["root"]["hash"]
    good = caspr("por", "verify", proof, "--root", root)
    assert good.returncode == 0, good.stdout + good.stderr
    assert "root hash equals the published root hash" in flat(good.stdout)
    other = ("0" if root[0] != "0" else "1") + root[1:]
    bad = caspr("por", "verify", proof, "--root", other)
    assert bad.returncode == 1
    assert "differs from the published root hash" in flat(bad.stdout)
    refused(caspr("por", "verify", proof, "--format", "okx-v1"), "this is not an OKX v1 proof file")


def test_custody_fail_on_breach_follows_what_the_table_says(tmp_path: Path) -> None:
    # an HK exchange holding 95% cold (the SFC requires 98%): the table says fail, exit 1 when asked
    hk = tmp_path / "hk"
    made = caspr("generate", "--profile", "hk-vatp", "--accounts", "300", "--hot-share", "0.05", "--out", hk)
    assert made.returncode == 0, made.stderr
    breached = caspr("custody", hk, "--fail-on-breach")
    assert breached.returncode == 1
    assert "hk.sfc" in breached.stdout
    # a JP exchange: the HK method is a comparison, said so, and not this exchange's breach
    jp = tmp_path / "jp"
    assert caspr("generate", "--accounts", "300", "--out", jp).returncode == 0
    compared = caspr("custody", jp, "--fail-on-breach", env={"COLUMNS": "200"})
    text = flat(compared.stdout)
    assert "(HK only)" in text
    assert compared.returncode == 0


def test_totals_the_engine_cannot_sum_are_refused_by_validate_and_every_command(tmp_path: Path) -> None:
    # two BTC balances of 6·10^19 each: each has 20 integer digits (accepted one by one), but
    # their sum 1.2·10^20 overflows the engine's DECIMAL(38, 18) SUM ("Overflow in SUM of DECIMAL")
    huge = "60000000000000000000"
    snap = write_snapshot(
        tmp_path / "s",
        balances_csv=f"account_id,asset,amount\nA1,BTC,{huge}\nA2,BTC,{huge}\nA3,JPY,5\n",
    )
    expected = "the BTC values add up to 120,000,000,000,000,000,000 or more"
    refused(caspr("validate", snap), "balances.csv, column amount:", expected, "below 10^20")
    refused(caspr("assess", snap), expected)
    refused(caspr("custody", snap), expected)
    refused(caspr("distribute", snap, "--out", tmp_path / "d"), expected)


def test_parquet_decimal_totals_are_checked_too(tmp_path: Path) -> None:
    from decimal import Decimal

    import pyarrow as pa
    import pyarrow.parquet as pq

    snap = write_snapshot(tmp_path / "s", balances_csv=None)
    amounts = [Decimal("60000000000000000000.5"), Decimal("60000000000000000000"), Decimal(5)]
    table = pa.table(
        {
            "account_id": ["A1", "A2", "A3"],
            "asset": ["BTC", "BTC", "JPY"],
            "amount": pa.array(amounts, pa.decimal128(38, 18)),
        }
    )
    pq.write_table(table, snap / "balances.parquet")
    refused(caspr("validate", snap), "balances.parquet, column amount:", "the BTC values add up to 120,0")


def test_generate_refuses_a_size_that_cannot_fit(tmp_path: Path) -> None:
    refused(caspr("generate", "--accounts", "1000000000000", "--out", tmp_path / "x"), "TB", "free")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_stopping_generate_leaves_no_temporary_folder(tmp_path: Path, stop: signal.Signals) -> None:
    process = subprocess.Popen(
        [*CASPR, "generate", "--accounts", "3000000", "--out", str(tmp_path / "big")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        # as from a terminal: a suite started as a shell's background job inherits SIGINT
        # ignored (as CI's can), and Python keeps it ignored, so Ctrl-C would never arrive
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # noqa: PLW1509
    )
    deadline = time.monotonic() + 120
    while not any(tmp_path.iterdir()) and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.2)
    assert [p.name.startswith(".big.") for p in tmp_path.iterdir()] == [True]  # the work folder
    process.send_signal(stop)
    assert process.wait(timeout=180) == 130  # removing a large partial folder is slow on a busy machine
    assert list(tmp_path.iterdir()) == []
