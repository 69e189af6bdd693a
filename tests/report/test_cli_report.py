"""``caspr report``, ``caspr incident --report``, ``caspr distribute --report`` and the demo's reports."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from caspr import report
from caspr.cli.main import app
from caspr.money import canonical
from tests.conftest import write_snapshot

runner = CliRunner()


def test_report_defaults_to_japanese_for_a_japanese_exchange(generated, tmp_path):
    out = tmp_path / "r.html"
    folder = str(generated["snapshot"].root)
    result = runner.invoke(
        app,
        ["report", folder, "--out", str(out), "--por", str(generated["base"] / "por"), "--stress-years", "0"],
    )
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert '<html lang="ja">' in text
    assert generated["root"]["root"]["hash"] in text
    reserve = next(a for a in generated["report"].assessment.assessments if a.regime == "jp-crypto-reserve")
    assert f'data-amount="{canonical(reserve.requirement.amount)}"' in text
    assert "この報告書では実施していません" in text  # --stress-years 0: said, not silently dropped


def test_report_in_english_for_every_regime(generated, tmp_path):
    out = tmp_path / "r.html"
    args = ["report", str(generated["snapshot"].root), "--out", str(out), "--lang", "en", "--regime", "all"]
    result = runner.invoke(app, [*args, "--stress-years", "0"])
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert '<html lang="en">' in text
    # every regime is either assessed (its section is there) or skipped with its reason
    for regime in ("jp-custody", "jp-crypto-reserve"):
        assert f'id="regime-{regime}"' in text
    for regime in ("eu-mica", "hk-sfc", "kr-vaupa"):
        assert f'id="regime-{regime}"' in text or f"Not assessed: {regime}" in text


def test_bad_usage_exits_2_and_writes_nothing(generated, tmp_path):
    folder = str(generated["snapshot"].root)
    cases = [
        (["--out", str(tmp_path / "r.docx")], ".html or .pdf"),
        (["--out", str(tmp_path / "r.html"), "--lang", "fr"], "no report language 'fr'"),
        (["--out", str(tmp_path / "r.html"), "--regime", "xx"], "unknown regime 'xx'"),
        (["--out", str(tmp_path / "no" / "r.html")], "does not exist"),
    ]
    for extra, message in cases:
        result = runner.invoke(app, ["report", folder, *extra])
        assert result.exit_code == 2, extra
        assert message in " ".join(result.output.split())  # rich wraps long lines
    tiny = write_snapshot(tmp_path / "tiny")
    result = runner.invoke(
        app, ["report", str(tiny), "--out", str(tmp_path / "r.html"), "--por", str(generated["base"] / "por")]
    )
    assert result.exit_code == 2
    assert "root.json, column exchange" in " ".join(result.output.split())
    assert list(tmp_path.glob("r.*")) == []


def test_incident_and_distribute_write_their_reports(generated, tmp_path):
    folder = str(generated["snapshot"].root)
    incident = tmp_path / "incident.yaml"
    incident.write_text(
        "id: cli-btc\ndetected_at: '2026-10-01T13:26:00+09:00'\nkind: hot_wallet_hack\n"
        "outflows:\n  - {wallet: btc-cold-1, asset: BTC, amount: '1'}\n"
        "compensation:\n  policy: make_whole_in_kind\n  funding:\n    company_capital: '5000000'\n"
    )
    out = tmp_path / "incident.html"
    result = runner.invoke(
        app, ["incident", folder, "--incident", str(incident), "--format", "json", "--report", str(out)]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)  # stdout stays one JSON document
    text = out.read_text(encoding="utf-8")
    assert '<html lang="ja">' in text
    assert f'data-figure="total-loss"><span class="amount" data-amount="{summary["total_loss"]}"' in text
    out = tmp_path / "distribution.html"
    result = runner.invoke(
        app, ["distribute", folder, "--out", str(tmp_path / "dist"), "--report", str(out), "--lang", "en"]
    )
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    held = sum(1 for _ in (tmp_path / "dist" / "holds.csv").open()) - 1
    assert f"Holds and their reasons ({held:,})" in text


def test_demo_writes_both_languages(generated, tmp_path):
    class Presenter:
        def __init__(self) -> None:
            self.lines: list[str] = []

        def section(self, title: str, shows: str) -> None:
            self.lines.append(title)

        def note(self, text: str, style: str | None = None) -> None:
            self.lines.append(text)

    presenter = Presenter()
    paths = report.write_demo(generated["snapshot"], tmp_path, None, presenter)
    assert [p.name for p in paths] == [
        "report-jp-large-synthetic-ja.html",
        "report-jp-large-synthetic-en.html",
        "fsa-quarterly-jp-large-synthetic-ja.html",
        "fsa-quarterly-jp-large-synthetic-en.html",
        "fsa-quarterly-jp-large-synthetic-ja.csv",
    ]
    assert presenter.lines[1:3] == [f"report (ja): {paths[0]}", f"report (en): {paths[1]}"]
    assert presenter.lines[3:6] == [
        f"FSA quarterly users' property report (ja): {paths[2]}",
        f"FSA quarterly users' property report (en): {paths[3]}",
        f"FSA quarterly users' property report (figures, CSV): {paths[4]}",
    ]
    assert '<html lang="ja">' in paths[0].read_text(encoding="utf-8")
    assert "por-missing" in paths[0].read_text(encoding="utf-8")  # no store in this folder: said
    assert all(Path(p).stat().st_size > 10_000 for p in paths[:4])
    assert "利用者財産の管理に関する報告書" in paths[2].read_text(encoding="utf-8")
    assert "Report on the management of users&#39; property" in paths[3].read_text(encoding="utf-8")
