"""OKX and Bitget verifiers: OKX's published sample files (tests/published/okx, source and
licence in its SOURCE.md), tampering, and the attacks."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path

import pytest

from caspr.custody import published

OKX = Path(__file__).resolve().parents[1] / "published" / "okx"


def okx_v1():
    return json.loads((OKX / "merkle_proof_file.json").read_text())


def test_okx_v1_conformance_root_and_balances():
    # PROVENANCE.md: root ac6b39d2…160d, height 24, BTC 95088.55505656, ETH 939953.49090361,
    # USDT 3137909428.88369702
    document = okx_v1()
    root = "ac6b39d2a0aa8112bd1aadff5e7d4b5c2b91cd54d595262ba4367f5d2db4160d"
    verdict = published.verify_okx_v1(document, expected_root=root)
    assert verdict.valid, verdict.reasons
    assert document["path"][-1]["height"] == 24
    assert document["path"][-1]["balances"] == {
        "BTC": "95088.55505656",
        "ETH": "939953.49090361",
        "USDT": "3137909428.88369702",
    }
    assert any("parent-sum attack" in w for w in verdict.weaknesses)


@pytest.mark.parametrize(
    ("where", "value"),
    [
        (("self", "balances", "BTC"), "1.000068"),
        (("path", 3, "hash"), "0" * 64),
        (("path", 5, "type"), 1),
        (("path", 7, "height"), 9),
        (("path", 23, "balances", "ETH"), "939953.4909036"),
    ],
)
def test_okx_v1_tampering_is_rejected(where, value):
    document = okx_v1()
    target = document
    for key in where[:-1]:
        target = target[key]
    target[where[-1]] = value
    assert not published.verify_okx_v1(document).valid


def test_okx_v1_negative_sibling_passes_okx_but_not_caspr():
    # A sibling of -x and a neighbour of +x leave every sum unchanged: the hash chain still
    # recomputes only if the exchange built it that way, which is exactly the fake-account attack.
    document = okx_v1()
    step = document["path"][0]
    step["balances"]["USDT"] = "-0.00007282"
    verdict = published.verify_okx_v1(document)
    assert not verdict.valid


def test_okx_v2_conformance_rechecks_every_node():
    tree = (OKX / "full-liabilities-merkle-tree.txt").read_text()
    user = json.loads((OKX / "user_info_file.json").read_text())
    verdict = published.verify_okx_v2(
        tree, user, "9e98ebde32ef22ded88a5fb2d5e53d76ed57cb9c6b2c966f250721defe6ab041"
    )
    assert verdict.valid, verdict.reasons
    assert verdict.reconstructed == (
        "root 9e98ebde32ef22ded88a5fb2d5e53d76ed57cb9c6b2c966f250721defe6ab041 at height 6; "
        "totals BTC 0.00005, ETH 0.1, USDT 1.42045977"
    )
    assert any("per-coin sums, 23 nodes" in c for c in verdict.checked)
    assert verdict.checked[-1] == "root equals the published root"


def test_okx_v2_a_changed_internal_node_is_caught():
    lines = (OKX / "full-liabilities-merkle-tree.txt").read_text().splitlines()
    # an internal node (height 3) whose balances no longer match its children, though no
    # user's leaf changed: OKX's own validator (leaves only) would not notice
    index = next(i for i, line in enumerate(lines) if ",3," in line)
    node_hash, height, body = lines[index].split(",", 2)
    balances = json.loads(body)
    balances["USDT"] = "0.00000001" if balances["USDT"] == "0" else "0"
    lines[index] = f"{node_hash},{height},{json.dumps(balances, separators=(',', ':'))}"
    user = json.loads((OKX / "user_info_file.json").read_text())
    verdict = published.verify_okx_v2("\n".join(lines), user)
    assert not verdict.valid
    assert "do not recompute" in verdict.reasons[0]


def okx_v2_tree(leaves, parent_balances=None):
    """A two-leaf OKX v2 tree (root first); ``parent_balances`` lets a dishonest prover lie."""
    zero = dict.fromkeys(published.OKX_COINS, Decimal(0))
    sums = {c: leaves[0][1][c] + leaves[1][1][c] for c in published.OKX_COINS}
    shown = parent_balances or sums
    root = published.okx_parent(leaves[0][0], leaves[1][0], shown, 2)

    def line(h, height, b):
        return f"{h},{height}," + json.dumps(
            {c: published.okx_format(b[c]) for c in published.OKX_COINS}, separators=(",", ":")
        )

    del zero
    return "\n".join(
        [line(root, 2, shown), line(leaves[1][0], 1, leaves[1][1]), line(leaves[0][0], 1, leaves[0][1])]
    )


def test_okx_v2_parent_max_attack_is_caught_by_the_full_recheck():
    a = {"BTC": Decimal(5), "ETH": Decimal(0), "USDT": Decimal(0)}
    b = {"BTC": Decimal(3), "ETH": Decimal(0), "USDT": Decimal(0)}
    user_hash = published._sha("n" + json.dumps({"BTC": "5", "ETH": "0", "USDT": "0"}, separators=(",", ":")))
    leaf_a = published._sha(user_hash + "500")
    leaf_b = published._sha("other")
    user = {
        "hash": user_hash,
        "nonce": "n",
        "totalBalances": {"BTC": "5", "ETH": "0", "USDT": "0"},
        "nodes": [{"hash": leaf_a, "balances": {"BTC": "5", "ETH": "0", "USDT": "0"}}],
    }
    honest = okx_v2_tree([(leaf_a, a), (leaf_b, b)])
    assert published.verify_okx_v2(honest, user).valid
    lying = okx_v2_tree([(leaf_a, a), (leaf_b, b)], parent_balances=a)  # max(5, 3) = 5 shown
    verdict = published.verify_okx_v2(lying, user)
    assert not verdict.valid


def bitget_proof(leaf_balances, siblings, levels=3):
    """A Bitget-format path proof built with the published rules (synthetic, not Bitget data)."""
    keys = list(leaf_balances)
    uid, nonce = "u" * 64, "n" * 64
    own = {
        "auditId": "Au1",
        "balances": leaf_balances,
        "encryptUid": uid,
        "level": levels + 1,
        "merkelLeaf": published.bitget_leaf(uid, nonce, {k: Decimal(v) for k, v in leaf_balances.items()}),
        "nonce": nonce,
        "role": 2,
    }
    current, totals, path = own["merkelLeaf"], {k: Decimal(v) for k, v in leaf_balances.items()}, []
    level = levels + 1
    for i, sibling in enumerate(siblings):
        role = 1 if i % 2 == 0 else 2
        sibling_hash = f"{i:016x}"
        path.append(
            {"auditId": "Au1", "balances": sibling, "level": level, "merkelLeaf": sibling_hash, "role": role}
        )
        totals = {k: totals[k] + Decimal(sibling[k]) for k in keys}
        left, right = (sibling_hash, current) if role == 1 else (current, sibling_hash)
        current = published.bitget_parent(left, right, totals, keys, level - 1)
        level -= 1
    path.append(
        {
            "auditId": "Au1",
            "balances": {k: published.strip_zeros(totals[k]) for k in keys},
            "level": 1,
            "merkelLeaf": current,
        }
    )
    return {"path": path, "self": own}


def test_bitget_format_rules_and_weaknesses():
    proof = bitget_proof(
        {"BTC": "0.5", "USDT": "10.10", "ETH": "0"},
        [
            {"BTC": "1", "USDT": "0.90", "ETH": "2"},
            {"BTC": "0", "USDT": "0", "ETH": "0.25"},
            {"BTC": "3.5", "USDT": "4", "ETH": "0"},
        ],
    )
    verdict = published.verify_bitget(proof)
    assert verdict.valid, verdict.reasons
    assert proof["path"][-1]["balances"] == {
        "BTC": "5",
        "USDT": "15",
        "ETH": "2.25",
    }  # trailing zeros stripped
    assert any("64 bits" in w for w in verdict.weaknesses)
    reordered = copy.deepcopy(proof)
    reordered["self"]["balances"] = dict(reversed(list(proof["self"]["balances"].items())))
    assert not published.verify_bitget(reordered).valid  # key order changes the hash
    negative = bitget_proof(
        {"BTC": "0.5", "USDT": "1", "ETH": "0"},
        [
            {"BTC": "-0.5", "USDT": "0", "ETH": "0"},
            {"BTC": "1", "USDT": "0", "ETH": "0"},
            {"BTC": "0", "USDT": "0", "ETH": "0"},
        ],
    )
    verdict = published.verify_bitget(negative)
    assert verdict.valid  # the balance is in the root ...
    assert "negative balances" in verdict.findings[0]  # ... but the tree is flawed
    assert "path[0].BTC = -0.5" in verdict.findings[0]
    wrong_role = copy.deepcopy(proof)
    wrong_role["path"][0]["role"] = 2
    assert not published.verify_bitget(wrong_role).valid
