"""A pinned test vector for ``caspr-por/1``: a change to the format cannot pass unnoticed.

The expected hashes below were computed once by :func:`reference_root`, an independent
re-implementation of docs/por.md ("What is hashed") using hashlib only — it imports
nothing from caspr — and are written here (and in docs/por.md) literally. The test checks
that the reference still gives them (so the literal values are what the documented format
says), and that ``por.build_tree`` gives them with the pure-Python kernels and with the C
kernels, and that every proof verifies against the pinned root.

The ledger: four accounts, three assets of different scales; balances in minor units:

    alice  BTC 1.50000000 (150000000 sat)   ETH 0                          JPY 1000
    bob    BTC 0.00000001 (1 sat)           ETH 2.000000000000000003       JPY 0
    carol  BTC 0                            ETH 0                          JPY 250000
    dave   BTC 21.00000000 (2100000000 sat) ETH 0.5                        JPY 7

Fixed randomness: padding key 32 × 0xAA; the nonce of the customer at leaf p is
32 × byte (p + 1); leaf order [carol, alice, dave, bob] (leaf p holds account order[p]
in ascending-id order: order = [2, 0, 3, 1]).
"""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pytest

from caspr.custody import kernels, por

AUDIT_ID, EXCHANGE, AS_OF = "vector/1", "vector-exchange", "2026-09-30T00:00:00+00:00"
ASSETS = [{"code": "BTC", "scale": 8}, {"code": "ETH", "scale": 18}, {"code": "JPY", "scale": 0}]
BALANCES = {
    "alice": [150000000, 0, 1000],
    "bob": [1, 2000000000000000003, 0],
    "carol": [0, 0, 250000],
    "dave": [2100000000, 500000000000000000, 7],
}
PADDING_KEY = b"\xaa" * 32
ORDER = [2, 0, 3, 1]  # leaf p holds account ORDER[p] of sorted(BALANCES)
HEIGHT = 16  # 4 customers: the smallest ladder step

# ---- pinned values (hex): see docs/por.md, "A test vector" ---------------------------------
AUDIT = "9e7047e6a71e435870450df439713a78c5375afaf19998ef8398af572838d978"
LEAVES = [
    "47a0da58d207b6e29cb8f4fa08c803b3ba796a05cd4b3179ecc293bdc5a2a3ab",  # carol, nonce 01…
    "bcc72821ecdf24debdbe474259a94b5f55be6131ed4c3bb1af5fedc96281f77e",  # alice, nonce 02…
    "649dfa1c410cd542f442a76e1cd9c3963ba447ecee387ea32eae97cae2624721",  # dave, nonce 03…
    "23a9484affb01d1af7545911729b82af87d250b4d2d9c25027d26415625798ac",  # bob, nonce 04…
]
LEVEL1 = [
    "b196e0f3a8bb88608224b7fa98f1125e4667516491c2cc5195fad19b2eab6d88",  # (carol, alice)
    "f8671c7b7cc9d882359db4e3cc2107abc445afa1a2a63dbf247e9f6d71607213",  # (dave, bob)
]
LEVEL2 = "d1a795d816faa41ad07177d6e36eb644415f435ff78a45c78c4c4e3f544136c7"
EMPTY0 = "5c04e638843880088c03eabdc8bf139410e7130da3ef7a50a4596cc99c5b5733"
ROOT = "5d252aadb425eba6b29f296817f96c6bda25bc5b3e645cc6d88b8b8d0729104b"
TOTALS = {"BTC": "2250000001", "ETH": "2500000000000000003", "JPY": "251007"}


# ---- the independent re-implementation (hashlib only, from docs/por.md) ---------------------


def _h(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _v(values: list[int]) -> bytes:
    return b"".join(v.to_bytes(16, "big") for v in values)


def reference_root() -> dict[str, object]:
    """Every hash of the vector's tree, computed from the documented byte layout alone."""
    name = b"caspr-por/1"
    audit = _h(
        json.dumps(
            {"audit_id": AUDIT_ID, "exchange": EXCHANGE, "as_of": AS_OF, "assets": ASSETS},
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
        ).encode()
    )
    ids = sorted(BALANCES)
    leaves = []
    for position, account in enumerate(ORDER):
        nonce = bytes([position + 1]) * 32
        values = BALANCES[ids[account]]
        body = b"\x00" + name + audit + nonce + _h(ids[account].encode()) + _v(values)
        leaves.append((_h(body), values))

    def node(level: int, left: tuple[bytes, list[int]], right: tuple[bytes, list[int]]):
        body = b"\x01" + name + audit + bytes([level]) + left[0] + _v(left[1]) + right[0] + _v(right[1])
        return _h(body), [a + b for a, b in zip(left[1], right[1], strict=True)]

    zeros = [0, 0, 0]
    empty = [(_h(b"\x02" + name + audit + PADDING_KEY), zeros)]
    for level in range(1, HEIGHT):
        empty.append((node(level, empty[-1], empty[-1])[0], zeros))
    level1 = [node(1, leaves[0], leaves[1]), node(1, leaves[2], leaves[3])]
    current = node(2, level1[0], level1[1])
    level2 = current
    for level in range(3, HEIGHT + 1):  # the four leaves fill the left-most subtree; the rest is empty
        current = node(level, current, empty[level - 1])
    return {
        "audit": audit.hex(),
        "leaves": [h.hex() for h, _ in leaves],
        "level1": [h.hex() for h, _ in level1],
        "level2": level2[0].hex(),
        "empty0": empty[0][0].hex(),
        "root": current[0].hex(),
        "totals": dict(zip(("BTC", "ETH", "JPY"), (str(t) for t in current[1]), strict=True)),
    }


def test_the_reference_gives_the_pinned_values():
    got = reference_root()
    assert got == {
        "audit": AUDIT,
        "leaves": LEAVES,
        "level1": LEVEL1,
        "level2": LEVEL2,
        "empty0": EMPTY0,
        "root": ROOT,
        "totals": TOTALS,
    }
    # the totals by hand
    assert {
        "BTC": str(150000000 + 1 + 0 + 2100000000),
        "ETH": str(0 + 2 * 10**18 + 3 + 0 + 5 * 10**17),
        "JPY": str(1000 + 0 + 250000 + 7),
    } == TOTALS


def _ledger() -> por.Ledger:
    ids = sorted(BALANCES)
    assets, units, offsets = [], [], [0]
    for account in ids:
        for index, value in enumerate(BALANCES[account]):
            if value:
                assets.append(index)
                units.append([value >> 64, value & (2**64 - 1)])
        offsets.append(len(assets))
    return por.Ledger(
        exchange=EXCHANGE,
        as_of=AS_OF,
        codes=[a["code"] for a in ASSETS],
        scales=[a["scale"] for a in ASSETS],
        holdings={a["code"]: Decimal(0) for a in ASSETS},
        ids=pa.array(ids, type=pa.string()),
        offsets=np.array(offsets, dtype=np.int64),
        assets=np.array(assets, dtype=np.uint16),
        units=np.ascontiguousarray(np.array(units, dtype=np.uint64).astype(">u8")),
    )


def _fixed_draw(n, seed, kernel, cores):
    assert n == len(ORDER)
    order = np.array(ORDER, dtype=np.int64)
    position = np.empty(n, dtype=np.int64)
    position[order] = np.arange(n, dtype=np.int64)
    nonces = np.frombuffer(b"".join(bytes([p + 1]) * 32 for p in range(n)), dtype=np.uint8).reshape(n, 32)
    return por._Draw(PADDING_KEY, nonces, order, position)


@pytest.mark.parametrize("pure", [True, False], ids=["python-kernels", "c-kernels"])
def test_the_builder_gives_the_pinned_tree(tmp_path, monkeypatch, pure):
    if not pure and kernels.kernels() is kernels.PurePython:
        pytest.skip("the C extension is not compiled here (no C compiler or OpenSSL headers at install)")
    monkeypatch.setattr(por, "_draw", _fixed_draw)
    result = por.build_tree(_ledger(), tmp_path / "por", audit_id=AUDIT_ID, pure=pure)
    assert result.kernels == kernels.describe(pure)
    assert result.root["root"] == {"hash": ROOT, "totals": TOTALS}
    assert result.root["height"] == HEIGHT
    out = tmp_path / "por"
    stored = np.load(out / "leaves.npy")
    assert [bytes(row).hex() for row in stored] == LEAVES
    assert json.loads((out / "empty.json").read_text())[0] == EMPTY0
    assert por.audit_tag(AUDIT_ID, EXCHANGE, AS_OF, ASSETS).hex() == AUDIT
    for account in BALANCES:
        proof = por.proof(out, account)
        assert por.verify(proof, result.root).valid, account
    # bob sits at leaf 3: its level-0 sibling is dave's leaf (2), its level-1 sibling the (carol, alice) node
    bob = por.proof(out, "bob")
    assert bob["leaf_index"] == 3
    assert bob["path"][0]["hash"] == LEAVES[2]
    assert bob["path"][1]["hash"] == LEVEL1[0]
    assert bob["path"][1]["values"] == {"BTC": "150000000", "ETH": "0", "JPY": "251000"}
    assert bob["nonce"] == "04" * 32
