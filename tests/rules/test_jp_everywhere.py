"""Issue 14, "Everywhere" and the PSA → FIEA dating, on Japanese (and, where the rule is shared, other) snapshots."""

from __future__ import annotations

import datetime as dt

from caspr.assess import assess, regime_parameters
from caspr.params import load_parameters
from caspr.rules import REGIMES
from caspr.rules.regime import Severity
from caspr.snapshot.loader import load_snapshot
from tests.conftest import FILES, write_snapshot
from tests.rules.helpers import btc_snapshot


def test_a_policy_without_insurer_affiliated_is_not_credited(tmp_path):
    # The tiny snapshot's policy p1 (limit 1,000,000 − retention 10,000 = 990,000) with the
    # insurer_affiliated line removed: the regime needs a third-party insurer and the snapshot
    # does not say; missing never counts in the exchange's favour -> credit 0 and a warning.
    # (Planted bug caught: the schema default False credited 990,000.)
    insurance = FILES["insurance.yaml"].replace("    insurer_affiliated: false\n", "")
    snapshot = load_snapshot(write_snapshot(tmp_path / "s", insurance_yaml=insurance))
    (a,) = assess(snapshot, "jp-crypto-reserve").assessments
    assert a.insurance == 0
    (warning,) = [f for f in a.findings if f.rule == "jp.funding.unstated"]
    assert warning.severity is Severity.WARNING
    assert (
        "policy p1 (Example Marine): not counted because insurance.yaml: insurer_affiliated"
        in warning.message
    )


def test_a_deposit_without_on_trust_is_not_counted_where_a_trust_is_required(tmp_path):
    # Hong Kong's compensation arrangement counts set-aside funds only on trust. A cash_trust
    # deposit of HKD 20,000 with no on_trust field: counted 0 (was 20,000), with a warning.
    reserve = "deposits:\n  - {id: t, form: cash_trust, amount: '20000', currency: HKD, held_at: HK Bank}\n"
    root = btc_snapshot(
        tmp_path / "s",
        jurisdiction="HK",
        currency="HKD",
        fiat_scale=2,
        price="700000",
        hot="0.02",
        cold="0.98",
        licences="custody",
        reserve=reserve,
    )
    (a,) = assess(load_snapshot(root), "hk-sfc").assessments
    assert a.reserve == 0
    assert any(f.severity is Severity.WARNING and "reserve.yaml: on_trust" in f.message for f in a.findings)


def test_as_of_other_than_the_snapshot_date_shows_both_and_warns(tiny):
    # Snapshot dated 2026-09-30, assessed as of 2026-10-31: balances are not re-dated.
    report = assess(load_snapshot(tiny), "jp-custody", dt.date(2026, 10, 31))
    document = report.to_dict()
    assert (document["as_of"], document["snapshot_as_of"]) == ("2026-10-31", "2026-09-30")
    (warning,) = report.warnings
    assert "2026-10-31" in warning and "snapshot is dated 2026-09-30" in warning
    assert assess(load_snapshot(tiny), "jp-custody").warnings == ()


def test_parameters_needing_a_primary_check_are_marked_where_used(tmp_path):
    # hk-sfc's min_cold_share rests on a secondary source (needs_primary_check: true); the
    # finding applying it, the JSON parameter list and the report header all say so.
    root = btc_snapshot(
        tmp_path / "s",
        jurisdiction="HK",
        currency="HKD",
        fiat_scale=2,
        price="700000",
        hot="0.02",
        cold="0.98",
    )
    report = assess(load_snapshot(root), "hk-sfc")
    document = report.to_dict()
    assert "hk-sfc.min_cold_share" in document["parameters_needing_primary_check"]
    (param,) = [p for p in document["assessments"][0]["parameters"] if p["parameter"] == "min_cold_share"]
    assert param["needs_primary_check"] is True
    assert "[needs primary check]" in param["citation"]
    cold = [f for f in document["assessments"][0]["findings"] if f["rule"] == "hk.sfc.10.6(c)"]
    assert cold and all("[needs primary check]" in f["citation"] for f in cold)
    # a verified parameter carries no mark
    jp = assess(load_snapshot(root), "jp-custody").to_dict()
    assert jp["parameters_needing_primary_check"] == []


def test_psa_to_fiea_history_keeps_both_dates(tmp_path):
    # A parameter moved from the PSA to the FIEA on a (hypothetical) 2027-04-01: the PSA value is
    # valid 2020-05-01 .. 2027-03-31, the FIEA value from 2027-04-01, both kept with their sources.
    folder = tmp_path / "p"
    folder.mkdir()
    (folder / "max_non_cold_share.yaml").write_text(
        """\
description: share
unit: ratio
status: in_force
values:
  2020-05-01:
    value: "0.05"
    reference: {instrument: "PSA ordinance", article: "27(2)"}
  2027-04-01:
    value: "0.05"
    reference: {instrument: "FIEA ordinance", article: "x"}
""",
        encoding="utf-8",
    )
    param = load_parameters(folder)["max_non_cold_share"]
    spans = [(s.start, s.end, s.reference.instrument) for s in param.history()]
    assert spans == [
        (dt.date(2020, 5, 1), dt.date(2027, 3, 31), "PSA ordinance"),
        (dt.date(2027, 4, 1), None, "FIEA ordinance"),
    ]
    assert param.at(dt.date(2027, 3, 31)).valid_until == dt.date(2027, 3, 31)
    assert param.at(dt.date(2027, 3, 31)).citation.instrument == "PSA ordinance"
    assert param.at(dt.date(2027, 4, 1)).citation.instrument == "FIEA ordinance"
    assert param.at(dt.date(2027, 4, 1)).to_dict()["valid_until"] is None


def test_japanese_custody_parameters_record_the_undated_fiea_move():
    # Not yet dated (reported "around 2027"): no end of validity, but the pending change is
    # recorded with each in-force Japanese parameter and shown with its value.
    params = regime_parameters(REGIMES["jp-custody"].parameters_dir)
    for name, param in params.items():
        value = param.at(dt.date(2026, 9, 30))
        assert value.valid_until is None, name
        (pending,) = value.pending
        assert "Financial Instruments and Exchange Act" in pending.change, name
        assert value.to_dict()["pending"][0]["expected"].startswith("around 2027")


def test_illustrative_parameter_without_rationale_does_not_load(tmp_path):
    import pytest

    from caspr.errors import InputError

    folder = tmp_path / "p"
    folder.mkdir()
    (folder / "x.yaml").write_text(
        "description: d\nunit: ratio\nstatus: proposed\nillustrative: true\nvalues:\n  2025-12-10:\n"
        '    value: "1"\n    reference: {instrument: i, article: a}\n',
        encoding="utf-8",
    )
    with pytest.raises(InputError, match="rationale"):
        load_parameters(folder)
