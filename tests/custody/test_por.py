"""caspr-por/1: every pitfall of published proof-of-liabilities designs (docs/por.md) against our own format."""

from __future__ import annotations

import copy
import json
import random
from decimal import Decimal

import numpy as np
import pytest
from typer.testing import CliRunner

from caspr.cli.main import app
from caspr.custody import kernels, por
from caspr.engine import Engine
from caspr.errors import InvariantViolation
from caspr.snapshot.loader import load_snapshot
from tests.conftest import FILES, write_snapshot


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    root = write_snapshot(tmp_path_factory.mktemp("por") / "tiny")
    out = root.parent / "por"
    result = por.build(load_snapshot(root), out, audit_id="tiny/2026-09-30", seed=7)
    return out, result


def proofs(out):
    return {acct: por.proof(out, acct) for acct in ("A1", "A2", "A3")}


def test_every_customer_proof_verifies_against_the_published_root(tree):
    out, result = tree
    published = json.loads((out / "root.json").read_text())
    for account, document in proofs(out).items():
        verdict = por.verify(document, published)
        assert verdict.valid, (account, verdict.reasons)
    a2 = por.proof(out, "A2")
    # A2 owes BTC 0.25000001 = 25000001 satoshi, ETH 10 = 10^19 wei, nothing in JPY
    assert a2["balances"] == {"BTC": "25000001", "ETH": "10000000000000000000", "JPY": "0"}
    assert result.customers == 3
    assert published["height"] == 16  # the smallest ladder step: the count (3) is hidden


def test_root_totals_are_the_liabilities_per_asset_and_solvency_is_not_netted(tree, tmp_path):
    _, result = tree
    totals = result.root["root"]["totals"]
    # BTC 1.5 + 0.25000001 = 175000001 sat; ETH 10 + 1e-18 = 10^19 + 1 wei; JPY 100005
    assert totals == {"BTC": "175000001", "ETH": "10000000000000000001", "JPY": "100005"}
    assert result.root["solvent_every_asset"] is True
    # BTC wallets 0.01 short while ETH wallets hold 2 ETH extra: BTC is insolvent regardless
    wallets = (
        FILES["wallets.csv"]
        .replace("1.70000001", "1.69000001")
        .replace("10.000000000000000001", "12.000000000000000001")
    )
    snap = load_snapshot(write_snapshot(tmp_path / "s", wallets_csv=wallets))
    root = por.build(snap, tmp_path / "p", seed=1).root
    by_asset = {row["asset"]: row for row in root["solvency"]}
    assert by_asset["BTC"]["solvent"] is False
    assert by_asset["ETH"]["solvent"] is True
    assert root["solvent_every_asset"] is False


def test_same_seed_same_tree_fresh_nonces_otherwise(tree, tmp_path):
    out, _ = tree
    snap = load_snapshot(write_snapshot(tmp_path / "tiny"))
    again = por.build(snap, tmp_path / "again", audit_id="tiny/2026-09-30", seed=7)
    assert (tmp_path / "again" / "root.json").read_text() == (out / "root.json").read_text()
    fresh1 = por.build(snap, tmp_path / "f1", audit_id="tiny/2026-09-30")
    fresh2 = por.build(snap, tmp_path / "f2", audit_id="tiny/2026-09-30")
    assert por.proof(tmp_path / "f1", "A1")["nonce"] != por.proof(tmp_path / "f2", "A1")["nonce"]
    assert fresh1.root["root"]["hash"] != fresh2.root["root"]["hash"]
    assert again.root["root"]["totals"] == fresh1.root["root"]["totals"]


def mutations(doc):
    """Every structured tampering a dishonest exchange or a corrupted file could produce."""

    def change(path, value):
        d = copy.deepcopy(doc)
        target = d
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        return d

    yield "balance +1", change(["balances", "BTC"], str(int(doc["balances"]["BTC"]) + 1))
    yield "balance negative", change(["balances", "BTC"], "-" + doc["balances"]["BTC"])
    yield "balance non-canonical", change(["balances", "BTC"], "0" + doc["balances"]["BTC"])
    yield "balance decimal", change(["balances", "BTC"], doc["balances"]["BTC"] + ".0")
    yield "nonce", change(["nonce"], "0" * 64)
    yield "account id (shared leaf)", change(["account_id"], "A3" if doc["account_id"] != "A3" else "A1")
    yield "audit id (replay)", change(["audit_id"], "other-audit")
    yield "exchange", change(["exchange"], "other-exchange")
    yield "as_of", change(["as_of"], "2020-01-01T00:00:00+00:00")
    yield "asset scale", change(["assets", 0, "scale"], 7)
    yield "direction", change(["leaf_index"], doc["leaf_index"] ^ 1)
    yield "index outside", change(["leaf_index"], 2 ** doc["height"])
    yield "height", change(["height"], 20)
    yield "root hash", change(["root", "hash"], "f" * 64)
    yield "root totals", change(["root", "totals", "JPY"], str(int(doc["root"]["totals"]["JPY"]) - 1))
    for level in (0, 5, len(doc["path"]) - 1):
        step = doc["path"][level]
        flipped = ("0" if step["hash"][0] != "0" else "1") + step["hash"][1:]
        yield f"sibling hash {level}", change(["path", level, "hash"], flipped)
        yield (
            f"sibling value {level}",
            change(["path", level, "values", "JPY"], str(int(step["values"]["JPY"]) + 1)),
        )
        yield f"sibling negative {level}", change(["path", level, "values", "JPY"], "-1")
        yield f"sibling level {level}", change(["path", level, "level"], level + 1)
    d = copy.deepcopy(doc)
    d["path"] = d["path"][1:]
    yield "node posing as leaf (path too short)", d
    d = copy.deepcopy(doc)
    d["path"] = [*d["path"], d["path"][-1]]
    yield "path too long", d
    d = copy.deepcopy(doc)
    d["path"][0], d["path"][1] = d["path"][1], d["path"][0]
    yield "steps reordered", d
    d = copy.deepcopy(doc)
    d["balances"] = dict(reversed(list(d["balances"].items())))
    yield "asset order", d


def test_every_tampering_is_rejected(tree):
    out, _ = tree
    published = json.loads((out / "root.json").read_text())
    for account, document in proofs(out).items():
        for name, forged in mutations(document):
            verdict = por.verify(forged)
            assert not verdict.valid, (account, name)
            assert verdict.reasons, (account, name)
            assert not por.verify(forged, published).valid, (account, name)


def test_any_byte_of_a_proof_file_changed_is_rejected_or_harmless(tree):
    out, _ = tree
    document = por.proof(out, "A2")
    text = json.dumps(document)
    rng = random.Random(20261124)  # seeded: replays
    rejected = 0
    for _ in range(400):
        position = rng.randrange(len(text))
        replacement = rng.choice('0123456789abcdef"{}:,-. x')
        forged_text = text[:position] + replacement + text[position + 1 :]
        try:
            forged = json.loads(forged_text)
        except json.JSONDecodeError:
            rejected += 1
            continue
        if forged == document:
            continue  # the byte changed formatting only
        assert not por.verify(forged).valid, (position, replacement)
        rejected += 1
    assert rejected > 300


def forge_root(document, sibling_values):
    """What a dishonest exchange hands one customer: its sibling's value changed at level 0,
    every hash above recomputed to match (the exchange knows every node), root totals adjusted."""
    forged = copy.deepcopy(document)
    forged["path"][0]["values"] = {c: str(v) for c, v in sibling_values.items()}
    codes = [a["code"] for a in forged["assets"]]
    audit = por.audit_tag(forged["audit_id"], forged["exchange"], forged["as_of"], forged["assets"])
    values = [int(forged["balances"][c]) for c in codes]
    current = por.leaf_hash(audit, bytes.fromhex(forged["nonce"]), forged["account_id"], values)
    for level, step in enumerate(forged["path"]):
        sibling, sibling_values_ = bytes.fromhex(step["hash"]), [int(step["values"][c]) for c in codes]
        if (forged["leaf_index"] >> level) & 1:
            current = por.node_hash(audit, level + 1, sibling, sibling_values_, current, values)
        else:
            current = por.node_hash(audit, level + 1, current, values, sibling, sibling_values_)
        values = [a + b for a, b in zip(values, sibling_values_, strict=True)]
    forged["root"] = {
        "hash": current.hex(),
        "totals": {c: str(v) for c, v in zip(codes, values, strict=True)},
    }
    return forged


def test_parent_sum_max_attack_cannot_give_both_siblings_a_consistent_root(tmp_path):
    # Two customers: A owes 5 BTC units, B owes 3; with two leaves they are siblings at level 0.
    # The honest root totals 8. An exchange hiding liabilities publishes a root of max(5, 3) = 5,
    # telling A its sibling holds 0 and B its sibling holds 2 (Ji & Chalkias' attack on
    # Maxwell's tree). Each forged proof is self-consistent, but because every parent commits
    # to both children's values, A's and B's forged paths lead to two different roots: one
    # published root.json cannot verify both.
    balances = "account_id,asset,amount\nA,BTC,0.00000005\nB,BTC,0.00000003\n"
    snapshot = load_snapshot(
        write_snapshot(
            tmp_path / "s",
            assets_csv="asset,kind,scale,price\nBTC,crypto,8,15000000\n",
            balances_csv=balances,
            wallets_csv="wallet_id,asset,storage,owner,amount\nbtc,BTC,cold,customer,0.00000008\n",
            accounts_csv=None,
        )
    )
    result = por.build(snapshot, tmp_path / "por", audit_id="max-attack", seed=11)
    assert result.root["root"]["totals"] == {"BTC": "8"}
    honest_a, honest_b = por.proof(tmp_path / "por", "A"), por.proof(tmp_path / "por", "B")
    assert {honest_a["leaf_index"], honest_b["leaf_index"]} == {0, 1}
    assert por.verify(honest_a, result.root).valid
    assert por.verify(honest_b, result.root).valid
    seen_by_a = forge_root(honest_a, {"BTC": 0})
    seen_by_b = forge_root(honest_b, {"BTC": 2})
    assert seen_by_a["root"]["totals"] == seen_by_b["root"]["totals"] == {"BTC": "5"}
    # each forgery alone recomputes (a lone customer cannot tell), and the exchange publishes A's root
    assert por.verify(seen_by_a).valid
    assert por.verify(seen_by_b).valid
    published = {**result.root, "root": seen_by_a["root"]}
    assert por.verify(seen_by_a, published).valid
    verdict = por.verify(seen_by_b, published)
    assert not verdict.valid
    assert verdict.reasons == ("root differs from the published root.json",)
    assert seen_by_a["root"]["hash"] != seen_by_b["root"]["hash"]


def test_values_and_sums_beyond_128_bits_are_rejected(tree):
    out, _ = tree
    document = por.proof(out, "A1")
    too_big = copy.deepcopy(document)
    too_big["path"][0]["values"]["JPY"] = str(2**128)
    verdict = por.verify(too_big)
    assert not verdict.valid
    assert "exceeds 2^128 - 1" in verdict.reasons[0]
    # the builder refuses a tree whose per-asset sums overflow, in both kernels
    biggest = (2**128 - 1).to_bytes(16, "big")
    one = (1).to_bytes(16, "big")
    for kernel in (
        kernels.PurePython,
        kernels.kernels(),
    ):  # the C kernels too where built (test_kernels compares them)
        with pytest.raises(OverflowError):
            kernel.level(b"p", b"\x00" * 64, biggest + one, b"\x00" * 32, 16, 1)
        _hashes, values = kernel.level(b"p", b"\x00" * 64, biggest + bytes(16), b"\x00" * 32, 16, 1)
        assert values == biggest


def test_leaf_and_node_are_domain_separated():
    audit = por.sha256(b"audit")
    # the same bytes hashed as a leaf body and as a node body never collide: the tags differ
    body = b"\x00" * 32
    assert por.sha256(por.LEAF_TAG + audit + body) != por.sha256(por.NODE_TAG + audit + body)
    # three distinct one-byte tags (a chained != would never compare LEAF_TAG with EMPTY_TAG)
    tags = (por.LEAF_TAG, por.NODE_TAG, por.EMPTY_TAG)
    assert len({t[:1] for t in tags}) == 3
    assert all(t[1:] == b"caspr-por/1" for t in tags)
    # an empty subtree's hash is never a leaf hash of the same bytes
    assert por.sha256(por.EMPTY_TAG + audit + body) != por.sha256(por.LEAF_TAG + audit + body)


def test_big_tree_matches_engine_liabilities(tmp_path):
    from caspr.snapshot.generator import generate

    snap = load_snapshot(generate(tmp_path / "g", 3000, seed=4).out)
    result = por.build(snap, tmp_path / "p", seed=2)
    liabilities = Engine(snap).liabilities()
    for code, units in result.root["root"]["totals"].items():
        scale = snap.assets[code].scale
        assert Decimal(int(units)).scaleb(-scale) == liabilities[code].amount
    sample = por.proof(tmp_path / "p", "A00000010")
    assert por.verify(sample, result.root).valid


def test_cli_build_proof_verify_and_exit_codes(tmp_path):
    root = write_snapshot(tmp_path / "tiny")
    runner = CliRunner()
    built = runner.invoke(app, ["por", "build", str(root), "--out", str(tmp_path / "por")])
    assert built.exit_code == 0, built.output
    assert "solvent" in built.output
    proof = runner.invoke(app, ["por", "proof", str(tmp_path / "por"), "--account", "A2"])
    assert proof.exit_code == 0
    (tmp_path / "a2.json").write_text(proof.output)
    ok = runner.invoke(
        app, ["por", "verify", str(tmp_path / "a2.json"), "--root", str(tmp_path / "por/root.json")]
    )
    assert ok.exit_code == 0, ok.output
    assert "VALID" in ok.output
    forged = json.loads(proof.output)
    forged["balances"]["BTC"] = "1"
    (tmp_path / "forged.json").write_text(json.dumps(forged))
    bad = runner.invoke(app, ["por", "verify", str(tmp_path / "forged.json")])
    assert bad.exit_code == 1
    assert "INVALID" in bad.output
    missing = runner.invoke(app, ["por", "proof", str(tmp_path / "por"), "--account", "nobody"])
    assert missing.exit_code == 2


def test_every_proof_verifies_in_a_tree_with_a_partial_last_block(tmp_path):
    # ~800 customers: blocks of 2^STORED_FROM leaves, the last one partial, so proofs
    # recompute the low levels with empty-subtree pads exactly as the builder did
    from caspr.snapshot.generator import generate

    snap = load_snapshot(generate(tmp_path / "g", 1000, seed=11).out)
    result = por.build(snap, tmp_path / "p", seed=4)
    store = por.Store(tmp_path / "p")
    by_leaf = {store.leaf(a): store.account_id(a) for a in range(len(store))}
    assert sorted(by_leaf) == list(range(len(store)))  # every leaf is one account
    assert all(store.account_at(leaf) == store.find(account) for leaf, account in by_leaf.items())
    n = result.customers
    assert n % (1 << por.STORED_FROM) != 0  # the last block is partial
    sample = set(range(n - 40, n)) | set(random.Random(1).sample(range(n), 60)) | {0}
    for leaf in sorted(sample):
        document = por.proof(tmp_path / "p", by_leaf[leaf])
        assert document["leaf_index"] == leaf
        verdict = por.verify(document, result.root)
        assert verdict.valid, (leaf, verdict.reasons)


def test_a_rebuild_replaces_the_store_whole_and_a_failed_one_leaves_the_old(tmp_path, monkeypatch):
    snap = load_snapshot(write_snapshot(tmp_path / "tiny"))
    out = tmp_path / "stores" / "por"
    first = por.build(snap, out, audit_id="first", seed=1)
    with pytest.raises(ValueError, match="not empty"):
        por.build(snap, out, audit_id="second", seed=2)  # no --force: refused, untouched
    assert json.loads((out / "root.json").read_text()) == first.root

    def broken(*args):
        msg = "disk full"
        raise OSError(msg)

    monkeypatch.setattr(por, "_write_level", broken)  # fails after the leaves are written
    with pytest.raises(OSError, match="disk full"):
        por.build(snap, out, audit_id="third", seed=3, force=True)
    assert json.loads((out / "root.json").read_text()) == first.root  # the old store stands
    assert por.verify(por.proof(out, "A1"), first.root).valid
    monkeypatch.undo()
    second = por.build(snap, out, audit_id="second", seed=2, force=True)
    assert json.loads((out / "root.json").read_text()) == second.root
    assert por.proof(out, "A1")["audit_id"] == "second"
    assert [p.name for p in out.parent.iterdir()] == ["por"]  # no temporary folder left behind


def test_a_kernel_that_loses_a_unit_stops_the_build_and_writes_nothing(tmp_path, monkeypatch):
    # A bug in the hashing kernels (here: a level that drops one unit of the first asset) must
    # not publish a root whose totals differ from the liabilities: the build checks the root
    # against the ledger's own per-asset sums (caspr.invariants.check_por_totals) and stops
    # before the store is put in place. Without that check, this tree would be published
    # with BTC 175000000 against 175000001 owed.
    real = kernels.PurePython.level

    def lossy(prefix, hashes, values, pad, width, threads):
        out_hashes, out_values = real(prefix, hashes, values, pad, width, threads)
        first = int.from_bytes(out_values[:16], "big")
        if prefix.endswith(bytes([16])) and first:  # the root level only
            out_values = (first - 1).to_bytes(16, "big") + out_values[16:]
        return out_hashes, out_values

    monkeypatch.setattr(kernels.PurePython, "level", staticmethod(lossy))
    root = write_snapshot(tmp_path / "s")
    with pytest.raises(
        InvariantViolation, match=r"por-root-totals.*BTC: root total 175000000 != liabilities 175000001"
    ):
        por.build(load_snapshot(root), tmp_path / "out", seed=1, pure=True)
    assert not (tmp_path / "out").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s"]  # no half-built store left beside it


def test_ledger_liabilities_are_exact_beyond_2_64():
    # the sums the root is checked against: exact per asset, with values above 2^64 and many
    # limbs set (3 entries of asset 0, 1 of asset 1, none of asset 2)
    values = [2**127 - 1, 2**64 + 12345, 2**64 - 1, 7]
    ledger = por.Ledger(
        exchange="ex",
        as_of="2026-09-30",
        codes=["A", "B", "C"],
        scales=[0, 8, 18],
        holdings={},
        ids=None,
        offsets=None,
        assets=np.array([0, 0, 1, 0], dtype=np.uint16),
        units=np.array([[v >> 64, v & (2**64 - 1)] for v in values], dtype=np.uint64).astype(">u8"),
    )
    assert por.liabilities(ledger) == [2**127 - 1 + 2**64 + 12345 + 7, 2**64 - 1, 0]
