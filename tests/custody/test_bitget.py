"""Bitget's published proofs, both format versions (tests/published/bitget, source in its
SOURCE.md): a customer gets "included" and, apart, the flaws of the exchange's tree; any
change to a balance or a hash fails; the balances are hashed as Bitget's tool re-writes them."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from caspr.custody import published

BITGET = Path(__file__).resolve().parents[1] / "published" / "bitget"
ROOT_2025 = "8eac815c495e6a67"
ROOT_2022 = "94d0d60f7cdce5fe"


def proof_2025():
    return published.load_bitget((BITGET / "merkel_tree_bg.json").read_text())


def proof_2022():
    return published.load_bitget((BITGET / "au20221125_path.json").read_text())


def test_2025_file_is_included_but_its_negative_subtotals_are_a_finding():
    verdict = published.verify_bitget(proof_2025(), ROOT_2025)
    assert verdict.valid, verdict.reasons
    assert verdict.reasons == ()
    # SOURCE.md: two USDC subtotals are negative, path[10] and path[13]
    (finding,) = verdict.findings
    assert "could be understated" in finding
    assert "path[10].USDC = -1536.70659782" in finding
    assert "path[13].USDC = -20885.31318921" in finding
    assert "(2:" in finding
    assert verdict.reconstructed == (
        "root 8eac815c495e6a67 at level 1; totals BTC 9935.73595927, ETH 128842.12373304, "
        "USDT 1661685866.08882744, USDC 122140146.79859507"
    )
    assert verdict.checked[-1] == "root equals the published root"
    assert "2025" in verdict.checked[0]


def test_2022_file_with_json_numbers_verifies_against_its_published_root():
    document = proof_2022()
    assert isinstance(document["self"]["balances"]["BTC"], Decimal)  # never a float
    verdict = published.verify_bitget(document, ROOT_2022)
    assert verdict.valid, verdict.reasons
    assert verdict.findings == ()
    assert verdict.reconstructed == (
        "root 94d0d60f7cdce5fe at level 1; totals BTC 2001254.40269617, ETH 1999998.0656526, "
        "USDT 993781612.22955519"
    )
    assert "2022" in verdict.checked[0]


def test_2022_sums_keep_their_scale_as_bitgets_tool_wrote_them():
    # level 2: USDT 989399889.12692537 + 4372722.80025793 = 993772611.92718330 (8 places kept)
    assert (
        published.bitget_text(Decimal("993772611.92718330"), published.BITGET_NUMBERS) == "993772611.92718330"
    )
    assert (
        published.bitget_text(Decimal("993772611.92718330"), published.BITGET_STRINGS)
        == '"993772611.9271833"'
    )
    # Java's BigDecimal.toString() switches to exponent form below 1e-6 (adjusted exponent < -6)
    assert published.bitget_text(Decimal("0.00000001"), published.BITGET_NUMBERS) == "1E-8"
    assert published.bitget_text(Decimal("0.00000010"), published.BITGET_NUMBERS) == "1.0E-7"
    assert published.bitget_text(Decimal("0.000098"), published.BITGET_NUMBERS) == "0.000098"
    assert published.bitget_text(Decimal("0"), published.BITGET_NUMBERS) == "0"
    assert published.bitget_text(Decimal("100"), published.BITGET_STRINGS) == '"100"'


def _places(document):
    """Every balance and every hash of a proof, as (path into the document, key)."""
    yield ("self",), "merkelLeaf"
    for coin in document["self"]["balances"]:
        yield ("self", "balances"), coin
    for i, step in enumerate(document["path"]):
        yield ("path", i), "merkelLeaf"
        for coin in step["balances"]:
            yield ("path", i, "balances"), coin


def _tampered(document, where, key):
    forged = copy.deepcopy(document)
    target = forged
    for part in where:
        target = target[part]
    value = target[key]
    if key == "merkelLeaf":
        target[key] = ("0" if value[0] != "0" else "1") + value[1:]
    elif isinstance(value, str):
        target[key] = str(Decimal(value) + Decimal("0.00000001"))
    else:
        target[key] = Decimal(value) + Decimal("0.00000001")
    return forged


@pytest.mark.parametrize(("loader", "root"), [(proof_2025, ROOT_2025), (proof_2022, ROOT_2022)])
def test_any_changed_balance_or_hash_fails(loader, root):
    document = loader()
    places = list(_places(document))
    assert len(places) >= 3 * (len(document["path"]) + 1)
    for where, key in places:
        verdict = published.verify_bitget(_tampered(document, where, key), root)
        assert not verdict.valid, (where, key)


def test_a_2022_number_with_another_scale_is_another_hash():
    # Bitget's 2022 tool hashed the number's text with its scale: 2001249.79108457 and
    # 2001249.791084570 are the same amount but not the same leaf
    document = proof_2022()
    document["self"]["balances"]["BTC"] = Decimal("2001249.791084570")
    assert not published.verify_bitget(document, ROOT_2022).valid
    # a sibling's scale reaches the hash through the sum's scale (the larger of the two)
    document = proof_2022()
    document["path"][0]["balances"]["BTC"] = Decimal("4.611513600")
    assert not published.verify_bitget(document, ROOT_2022).valid
    document["path"][0]["balances"]["BTC"] = Decimal("4.61151360")  # 8 places: sum unchanged
    assert published.verify_bitget(document, ROOT_2022).valid


def test_a_2025_string_is_hashed_as_the_tool_rewrites_it():
    # the tool reads "…" into a BigDecimal and strips trailing zeros before hashing: a
    # published "0.50" proves the same leaf as "0.5"
    document = proof_2025()
    own = document["self"]["balances"]
    coin = next(c for c, v in own.items() if "." in v)
    own[coin] = own[coin] + "0"
    assert published.verify_bitget(document, ROOT_2025).valid


def test_mixed_versions_are_refused():
    document = proof_2022()
    document["self"]["balances"]["ETH"] = "1999998.0656526"
    verdict = published.verify_bitget(document, ROOT_2022)
    assert not verdict.valid
    assert "neither all decimal strings" in verdict.reasons[0]
    document = proof_2022()
    document["path"][1]["balances"]["BTC"] = "0.000098"
    verdict = published.verify_bitget(document, ROOT_2022)
    assert not verdict.valid
    assert "path[1].BTC" in verdict.reasons[0]


def test_checked_lists_only_the_checks_that_ran():
    document = proof_2025()
    document["self"]["merkelLeaf"] = "0" * 16
    verdict = published.verify_bitget(document, ROOT_2025)
    assert not verdict.valid
    assert verdict.checked == ()  # the leaf failed: nothing else was checked
    assert verdict.reconstructed == ""
    wrong_root = published.verify_bitget(proof_2025(), "0" * 16)
    assert not wrong_root.valid
    assert wrong_root.checked[-1] == "root hash and balances"
    assert "root 8eac815c495e6a67" in wrong_root.reconstructed  # shown so a person can compare


def _cli(*args):
    return subprocess.run(
        [sys.executable, "-c", "from caspr.cli.main import main; main()", *args],
        capture_output=True,
        text=True,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin", **_pythonpath()},
        check=False,
    )


def _pythonpath():
    import os

    return {k: v for k, v in os.environ.items() if k in ("PYTHONPATH", "HOME", "CASPR_LOG_DIR")}


def test_cli_exit_codes_included_flawed_and_tampered(tmp_path):
    flawed = _cli(
        "por", "verify", "--format", "bitget", str(BITGET / "merkel_tree_bg.json"), "--root", ROOT_2025
    )
    assert flawed.returncode == 4, flawed.stdout + flawed.stderr
    assert "your balance is included" in flawed.stdout
    assert "TREE IS FLAWED" in flawed.stdout
    assert "reconstructed: root 8eac815c495e6a67" in flawed.stdout
    clean = _cli(
        "por", "verify", "--format", "bitget", str(BITGET / "au20221125_path.json"), "--root", ROOT_2022
    )
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "FLAWED" not in clean.stdout
    forged = json.loads((BITGET / "au20221125_path.json").read_text())
    forged["self"]["merkelLeaf"] = "0" * 16
    path = tmp_path / "forged.json"
    path.write_text(json.dumps(forged))
    bad = _cli("por", "verify", "--format", "bitget", str(path), "--root", ROOT_2022)
    assert bad.returncode == 1
    assert "INVALID" in bad.stdout
    assert "checked:" not in bad.stdout
