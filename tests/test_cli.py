"""The README's main job, run as a user would (small size)."""

from __future__ import annotations

from typer.testing import CliRunner

from caspr.cli.main import app
from caspr.demo import SECTIONS


def test_demo_generates_then_reuses_its_cache(tmp_path):
    runner = CliRunner()
    first = runner.invoke(app, ["demo", "--accounts", "5000", "--cache", str(tmp_path)])
    assert first.exit_code == 0, first.output
    assert "valid" in first.output
    assert "crypto total" in first.output
    for title, shows in SECTIONS:  # each section says what it shows (issue 17)
        assert title in first.output
        assert shows in " ".join(first.output.split())
    second = runner.invoke(app, ["demo", "--accounts", "5000", "--cache", str(tmp_path)])
    assert second.exit_code == 0
    assert "reusing cached demo exchange" in second.output


def test_generate_then_validate(tmp_path):
    runner = CliRunner()
    out = tmp_path / "eu"
    result = runner.invoke(
        app,
        [
            "generate",
            "--accounts",
            "1500",
            "--seed",
            "4",
            "--profile",
            "eu-casp",
            "--format",
            "parquet",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "1,500 accounts" in result.output
    assert runner.invoke(app, ["validate", str(out)]).exit_code == 0
    again = runner.invoke(app, ["generate", "--accounts", "10", "--out", str(out)])
    assert again.exit_code == 2
    assert "exists" in again.output


def test_bad_usage_is_a_message_not_a_traceback(tmp_path):
    result = CliRunner().invoke(app, ["generate", "--out", str(tmp_path / "x"), "--profile", "moon"])
    assert result.exit_code == 2
    assert "unknown profile 'moon'" in result.output
    assert "Traceback" not in result.output
