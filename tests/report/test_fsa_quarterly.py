"""Japan's quarterly users' property report (PSA 63-14(2), Ordinance Art. 38, Form No. 13).

The figures are computed by hand below from a snapshot written here; a snapshot that lacks
a figure's data says "not sourced", never 0.
"""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from decimal import Decimal
from html import unescape
from pathlib import Path

import pytest
from typer.testing import CliRunner

from caspr.assess import build_context
from caspr.cli.main import app
from caspr.custody import custody_report
from caspr.report import fsa_quarterly as fq
from caspr.report import pdf
from caspr.rules import jp_custody
from caspr.snapshot.loader import load_snapshot
from tests.conftest import EXCHANGE, write_snapshot

runner = CliRunner()

# BTC at 10,000,000 JPY, ETH at 400,000 JPY; a stablecoin (listed, conservatively, as crypto)
# and an electronic payment instrument (not a crypto-asset: left out).
ASSETS = (
    "asset,kind,scale,price\n"
    "BTC,crypto,8,10000000\n"
    "ETH,crypto,18,400000\n"
    "USDX,stablecoin,6,150\n"
    "JPYC,epi,0,1\n"
    "JPY,fiat,0,1\n"
)
BALANCES = (
    "account_id,asset,amount\n"
    "A1,BTC,1.2\n"
    "A2,BTC,0.3\n"  # BTC owed 1.5
    "A1,ETH,5\n"  # ETH owed 5
    "A1,USDX,10\n"
    "A3,JPYC,100\n"
    "A1,JPY,50000\n"
    "A2,JPY,250000\n"  # JPY owed 300,000
)
ACCOUNTS = "account_id,kyc,status\nA1,verified,active\nA2,verified,active\nA3,verified,active\n"
WALLETS = (
    "wallet_id,asset,storage,owner,amount\n"
    "btc-cold,BTC,cold,customer,1.4\n"
    "btc-hot,BTC,hot,customer,0.06\n"
    "btc-cust,BTC,custodian,customer,0.04\n"  # BTC held 1.5 = owed
    "eth-cold,ETH,cold,customer,4.5\n"
    "eth-hot,ETH,hot,customer,0.4\n"  # ETH held 4.9: 0.1 short
    "usdx-cold,USDX,cold,customer,10\n"
    "jpyc-hot,JPYC,hot,customer,100\n"
    "jpy-trust,JPY,fiat_trust,customer,280000\n"
    "jpy-bank,JPY,bank,customer,20000\n"  # in a bank account: customer money, not in trust
    "btc-guar,BTC,cold,guarantee,0.06\n"
    "btc-guar-hot,BTC,hot,guarantee,0.01\n"  # guarantee crypto held hot: does not count
    "eth-guar,ETH,cold,guarantee,0.3\n"
    "btc-own,BTC,hot,company,2\n"
)


def small(root: Path, **replace: str | None) -> Path:
    """The hand-checked snapshot of this file (``replace`` as in :func:`write_snapshot`)."""
    files = {
        "assets_csv": ASSETS,
        "balances_csv": BALANCES,
        "accounts_csv": ACCOUNTS,
        "wallets_csv": WALLETS,
        **replace,
    }
    return write_snapshot(root, **files)


@pytest.fixture
def built(tmp_path: Path) -> fq.QuarterlyReport:
    return fq.build(load_snapshot(small(tmp_path / "s")))


def _rows(rows: tuple[fq.AssetRows, ...]) -> dict[str, dict[str, object]]:
    return {r.asset: {f.spec.id: f.value for f in r.figures} for r in rows}


def test_money_figures_by_hand(built):
    (jpy,) = built.money
    assert jpy.asset == "JPY"
    assert _rows(built.money)["JPY"] == {
        "money_owed": Decimal(300000),  # 50,000 + 250,000
        "money_in_trust": Decimal(280000),  # fiat_trust only
        "money_not_in_trust": Decimal(20000),  # the bank account
        "money_trust_difference": Decimal(-20000),  # 280,000 − 300,000
    }


def test_crypto_figures_by_hand(built):
    rows = _rows(built.crypto)
    assert list(rows) == ["BTC", "ETH", "USDX"]  # JPYC (epi) is not a crypto-asset
    assert built.excluded_epi == ("JPYC",)
    assert built.stablecoins == ("USDX",)
    assert rows["BTC"] == {
        "quantity_owed": Decimal("1.5"),
        "own_cold": Decimal("1.4"),
        "own_hot": Decimal("0.06"),
        "third_party": Decimal("0.04"),
        "segregated_total": Decimal("1.5"),
        "quantity_difference": Decimal(0),
        "price": Decimal(10000000),
        "value_owed": Decimal(15000000),  # 1.5 × 10,000,000
    }
    assert rows["ETH"]["segregated_total"] == Decimal("4.9")
    assert rows["ETH"]["quantity_difference"] == Decimal("-0.1")
    assert rows["ETH"]["value_owed"] == Decimal(2000000)  # 5 × 400,000
    assert rows["USDX"]["value_owed"] == Decimal(1500)  # 10 × 150


def test_non_cold_share_by_hand_rounded_up(built):
    values = {f.spec.id: f.value for f in built.cold}
    # hot: 0.06 × 10,000,000 + 0.4 × 400,000 = 600,000 + 160,000 (USDX: none hot; JPYC: not crypto)
    assert values["non_cold_value"] == Decimal(760000)
    # managed: 1.5 × 10,000,000 + 4.9 × 400,000 = 15,000,000 + 1,960,000. USDX (10 × 150, all cold)
    # would lower the share: the stricter reading leaves it out, as jp-custody does
    assert values["managed_value"] == Decimal(16960000)
    assert built.reading == "crypto-assets only"
    # 760,000 / 16,960,000 = 0.0448113207... → up to 6 places: 0.044812 (rounding down gives 0.044811)
    assert values["non_cold_share"] == Decimal("0.044812")


def test_non_cold_share_is_the_custody_rules_figure(generated):
    snapshot = generated["snapshot"]
    report = fq.build(snapshot)
    ctx = build_context(snapshot, snapshot.exchange.as_of_date)
    _, hot, total = max((r for r in jp_custody.non_cold_readings(ctx) if r[2] > 0), key=lambda r: r[1] / r[2])
    values = {f.spec.id: f.value for f in report.cold}
    assert (values["non_cold_value"], values["managed_value"]) == (hot, total)
    (method,) = [m for m in custody_report(snapshot).methods if m.regime == "jp-custody"]
    assert method.cold_share is not None
    assert values["non_cold_share"] >= 1 - method.cold_share  # rounded up, never below


def test_guarantee_figures_by_hand(built):
    rows = _rows(built.guarantee)
    assert rows["BTC"] == {
        "guarantee_required": Decimal("0.06"),  # = BTC held hot for users
        "guarantee_held": Decimal("0.06"),  # 0.06 cold; the 0.01 held hot does not count
        "guarantee_hot": Decimal("0.01"),
        "guarantee_difference": Decimal(0),
    }
    assert rows["ETH"]["guarantee_required"] == Decimal("0.4")
    assert rows["ETH"]["guarantee_difference"] == Decimal("-0.1")  # 0.3 − 0.4


def test_attachments_follow_the_snapshot(built):
    required = {a.spec.item: a.required for a in built.attachments}
    # 1 B/S and P/L, 2 trust balance certificate, 3 users' crypto balances, 4 guarantee balances:
    # the snapshot shows each kind of management; 5 and 6 (audit reports): it cannot tell.
    assert required == {"1": True, "2": True, "3": True, "4": True, "5": None, "6": None}
    item6 = next(a for a in built.attachments if a.spec.item == "6")
    assert item6.spec.needs_primary_check  # the copy read is cut off there


def test_no_guarantee_wallets_means_attachment_4_not_required(tmp_path):
    wallets = "\n".join(line for line in WALLETS.splitlines() if ",guarantee," not in line) + "\n"
    report = fq.build(load_snapshot(small(tmp_path / "s", wallets_csv=wallets)))
    assert {a.spec.item: a.required for a in report.attachments}["4"] is False


def test_what_a_snapshot_cannot_hold_is_not_sourced(built):
    missing = {f.spec.id for _, _, f in built.not_sourced()}
    assert missing == {
        "registration_number",
        "period",
        "due_date",
        "audit_date",
        "auditor",
        "audit_result",
        "guarantee_audit_date",
    }
    assert all(f.reason is not None for _, _, f in built.not_sourced())


def test_no_fiat_asset_gives_not_sourced_never_zero(tmp_path):
    assets = "".join(line + "\n" for line in ASSETS.splitlines() if not line.startswith("JPY,"))
    balances = "".join(line + "\n" for line in BALANCES.splitlines() if ",JPY," not in line)
    wallets = "".join(line + "\n" for line in WALLETS.splitlines() if ",JPY," not in line)
    # the reporting currency must itself be an asset priced 1 only when it is listed; drop it
    folder = small(tmp_path / "s", assets_csv=assets, balances_csv=balances, wallets_csv=wallets)
    report = fq.build(load_snapshot(folder))
    (row,) = report.money
    assert all(f.value is None for f in row.figures)
    assert all(f.state is fq.State.NOT_SOURCED for f in row.figures)
    assert {a.spec.item: a.required for a in report.attachments}["2"] is None  # cannot tell

    out = tmp_path / "form.csv"
    fq.write(out, report, "en")
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    money = [r for r in rows if r["section"] == "money"]
    assert len(money) == 4
    assert all(r["value"] == "" and r["state"] == "not_sourced" for r in money)
    assert all("no fiat asset" in r["reason"] for r in money)

    page = tmp_path / "form.html"
    fq.write(page, report, "en")
    html = page.read_text(encoding="utf-8")
    table = html.split('id="table-money"', 1)[1].split("</table>", 1)[0]
    assert "data-amount" not in table  # no figure at all, so no 0
    assert table.count('data-state="not_sourced"') >= 4


def test_non_yen_reporting_currency_leaves_yen_values_not_sourced(tmp_path):
    exchange = EXCHANGE.replace("reporting_currency: JPY", "reporting_currency: EUR")
    assets = ASSETS.replace("JPY,fiat,0,1", "JPY,fiat,0,0.0057") + "EUR,fiat,2,1\n"
    folder = small(
        tmp_path / "s", exchange_yaml=exchange, assets_csv=assets, insurance_yaml=None, reserve_yaml=None
    )
    report = fq.build(load_snapshot(folder))
    rows = _rows(report.crypto)
    assert rows["BTC"]["quantity_owed"] == Decimal("1.5")  # quantities do not need a price
    assert rows["BTC"]["price"] is None
    assert rows["BTC"]["value_owed"] is None
    assert all(f.value is None for f in report.cold)


def test_csv_holds_every_figure_exactly(built, tmp_path):
    out = tmp_path / "form.csv"
    fq.write(out, built, "ja")
    data = out.read_bytes()
    assert data.startswith("\ufeff".encode())  # so that spreadsheets read UTF-8
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert tuple(rows[0]) == fq.CSV_COLUMNS
    by_key = {(r["section"], r["field"], r["asset"]): r for r in rows}
    assert by_key[("crypto", "quantity_difference", "ETH")]["value"] == "-0.1"
    assert by_key[("cold", "non_cold_share", "")]["value"] == "0.044812"
    assert by_key[("money", "money_in_trust", "JPY")]["label_ja"] == "利用者区分管理信託に係る信託財産の額"
    assert by_key[("header", "registration_number", "")]["state"] == "not_sourced"
    assert by_key[("attachments", "item_2", "")]["state"] == "required"
    assert by_key[("attachments", "item_5", "")]["state"] == "unknown"
    assert all(r["needs_primary_check"] == "true" for r in rows)  # the form's layout was not read


def test_html_in_both_languages_cites_the_form(built, tmp_path):
    for language, title, attachments in (
        ("ja", "利用者財産の管理に関する報告書", "添付書類"),
        ("en", "Report on the management of users' property", "Attachments"),
    ):
        out = tmp_path / f"form-{language}.html"
        fq.write(out, built, language)
        text = unescape(out.read_text(encoding="utf-8"))
        assert f'<html lang="{language}">' in text
        assert title in text
        assert attachments in text
        assert "別紙様式第十三号" in text
        assert "38(1)" in text
        assert "https://iuris.jp/" in text
        assert 'id="needs-primary-check"' in text
        assert 'data-amount="0.044812"' in text
        assert "<script" not in text


def _needs_pdf() -> None:
    if pdf.engine() is None:
        pytest.skip("no PDF engine here: install the 'report' extra (WeasyPrint + Pango) or chromium")
    if shutil.which("pdftotext") is None or shutil.which("pdftoppm") is None:
        pytest.skip("pdftotext/pdftoppm (Debian: poppler-utils) missing: cannot read the PDF back")
    if not pdf.japanese_font():
        pytest.skip("no Japanese font (fc-list :lang=ja is empty; Debian: fonts-ipaexfont-gothic)")


@pytest.mark.slow
def test_pdf_shows_the_japanese_headings_and_numbers(built, tmp_path):
    _needs_pdf()
    out = tmp_path / "form.pdf"
    fq.write(out, built, "ja")
    assert out.read_bytes().startswith(b"%PDF-")
    text = subprocess.run(
        ["pdftotext", "-layout", str(out), "-"], capture_output=True, text=True, check=True
    ).stdout
    flat = text.replace(" ", "").replace("\n", "")
    for heading in (
        "利用者財産の管理に関する報告書",
        "利用者の金銭の管理の状況",
        "履行保証暗号資産の管理の状況",
        "添付書類",
        "信託会社等が発行する残高証明書",
        "要原本確認",
    ):
        assert heading in flat, heading
    for number in ("300,000円", "280,000円", "-20,000円", "15,000,000円", "760,000円", "4.4812%", "-0.1ETH"):
        assert number in flat, number
    assert "記入不可" in flat  # the fields a snapshot cannot fill
    subprocess.run(
        ["pdftoppm", "-r", "40", "-png", "-f", "1", "-l", "1", str(out), str(tmp_path / "p")], check=True
    )
    (image,) = tmp_path.glob("p-*1.png")
    assert image.stat().st_size > 1000


def test_cli_writes_each_format_and_refuses_bad_usage(tmp_path):
    folder = str(small(tmp_path / "s"))
    out = tmp_path / "form.csv"
    result = runner.invoke(app, ["report", folder, "--form", "fsa-quarterly", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "non_cold_share" in out.read_text(encoding="utf-8-sig")
    page = tmp_path / "form.html"
    result = runner.invoke(app, ["report", folder, "--form", "fsa-quarterly", "--out", str(page)])
    assert result.exit_code == 0, result.output
    assert '<html lang="ja">' in page.read_text(encoding="utf-8")  # a Japanese exchange: Japanese
    cases = [
        (["--form", "fsa-quarterly", "--out", str(tmp_path / "f.docx")], ".html, .pdf or .csv"),
        (
            ["--form", "fsa-quarterly", "--out", str(tmp_path / "f.html"), "--lang", "fr"],
            "no report language",
        ),
        (["--form", "fsa", "--out", str(tmp_path / "f.html")], "unknown form 'fsa'"),
        (["--form", "fsa-quarterly", "--out", str(tmp_path / "f.html"), "--por", folder], "--por: not used"),
        (["--form", "fsa-quarterly", "--out", str(tmp_path / "no" / "f.html")], "does not exist"),
    ]
    for extra, message in cases:
        result = runner.invoke(app, ["report", folder, *extra])
        assert result.exit_code == 2, extra
        assert message in " ".join(result.output.split()), (extra, result.output)
    assert not list(tmp_path.glob("f.*"))  # nothing written


def test_the_form_definition_is_consistent():
    form = fq.definition()
    assert form.needs_primary_check  # Form No. 13 itself was not read
    for section in form.sections.values():
        for spec in section.fields:
            assert spec.basis in form.references, spec.id
            assert spec.label.ja and spec.label.en
            assert (spec.source == "none") == (spec.reason is not None), spec.id
    for ref in form.references.values():
        assert ref.url or ref.needs_primary_check, ref  # unread texts say so
    assert [a.item for a in form.attachments] == ["1", "2", "3", "4", "5", "6"]
    assert form.schedule.period_months == 3
    assert form.schedule.due_months_after_period == 1
