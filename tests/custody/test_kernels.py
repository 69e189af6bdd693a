"""The C kernels of caspr-por/1 compute exactly the bytes of the pure-Python reference.

Seeded random inputs (they replay), edge values at 2^128, odd counts that need the empty
pad, and every refusal (overflow, negative, finer than the scale, duplicates, bad asset).
Where the C extension was not compiled these tests skip with the reason, except under
CI (CASPR_REQUIRE_NATIVE=1), where its absence is a failure.
"""

from __future__ import annotations

import hashlib
import json
import os

import numpy as np
import pytest

from caspr.custody import kernels, por
from caspr.snapshot.loader import load_snapshot
from tests.conftest import FILES, write_snapshot

PURE = kernels.PurePython
NATIVE = kernels.kernels()
needs_native = pytest.mark.skipif(
    NATIVE is PURE,
    reason="the C extension caspr.custody._merkle was not compiled (no compiler or OpenSSL headers)",
)
TOP = 2**128 - 1


def test_the_c_extension_is_built_where_ci_requires_it():
    if os.environ.get("CASPR_REQUIRE_NATIVE") != "1":
        pytest.skip("CASPR_REQUIRE_NATIVE is not set (only CI requires the C extension)")
    assert NATIVE is not PURE, "CI must build caspr.custody._merkle"
    assert "C extension" in kernels.describe()


def random_sparse(rng, rows, assets, big=False):
    """Sparse values: each row holds a random subset of the assets."""
    counts = rng.integers(0, min(assets, 4) + 1, size=rows)
    offsets = np.zeros(rows + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    which = np.concatenate([rng.permutation(assets)[:c] for c in counts]).astype(np.uint16)
    top = 2**125 if big else 10**20  # four of them still sum below 2^128
    step = top // 2**62
    units = b"".join((int(rng.integers(0, 2**62)) * step).to_bytes(16, "big") for _ in range(len(which)))
    return offsets, which, units


def test_ids_match_hashlib():
    strings = [b"", b"A1", "顧客-42".encode(), b"x" * 300]
    data = b"".join(strings)
    offsets = np.cumsum([0] + [len(s) for s in strings]).astype(np.int64)
    expected = b"".join(hashlib.sha256(s).digest() for s in strings)
    assert PURE.ids(offsets, data, 1) == expected
    if NATIVE is not PURE:
        assert NATIVE.ids(offsets, data, 2) == expected


@needs_native
@pytest.mark.parametrize("rows", [1, 2, 7, 5000, 9001])
def test_leaves_and_levels_match_the_reference(rows):
    rng = np.random.default_rng(rows)  # seeded: replays
    assets, width = 5, 80
    offsets, which, units = random_sparse(rng, rows, assets, big=True)
    nonces, id_hashes = rng.bytes(32 * rows), rng.bytes(32 * rows)
    prefix = por.LEAF_TAG + rng.bytes(32)
    leaves = NATIVE.leaves(prefix, nonces, id_hashes, offsets, which, units, width, 2)
    assert leaves == PURE.leaves(prefix, nonces, id_hashes, offsets, which, units, width, 1)
    pad = rng.bytes(32)
    node_prefix = por.NODE_TAG + rng.bytes(32) + b"\x01"
    hashes, values = NATIVE.level_sparse(node_prefix, leaves, offsets, which, units, pad, width, 2)
    assert (hashes, values) == PURE.level_sparse(node_prefix, leaves, offsets, which, units, pad, width, 1)
    assert len(hashes) == 32 * ((rows + 1) // 2)  # an odd last child pairs with the pad
    up = NATIVE.level(node_prefix, hashes, values, pad, width, 2)
    assert up == PURE.level(node_prefix, hashes, values, pad, width, 1)


def test_a_parent_is_the_documented_hash_of_its_children():
    audit = hashlib.sha256(b"audit").digest()
    left, right = hashlib.sha256(b"L").digest(), hashlib.sha256(b"R").digest()
    left_values, right_values = [5, TOP - 5], [7, 5]
    values = por.encode_values(left_values) + por.encode_values(right_values)
    for kernel in {PURE, NATIVE}:
        hashes, sums = kernel.level(por.NODE_TAG + audit + b"\x03", left + right, values, b"\x00" * 32, 32, 1)
        assert hashes == por.node_hash(audit, 3, left, left_values, right, right_values)
        assert sums == por.encode_values([12, TOP])  # TOP - 5 + 5 = 2^128 - 1 exactly: no overflow


@pytest.mark.parametrize("kernel", sorted({PURE, NATIVE}, key=str))
def test_refusals(kernel):
    one, top = (1).to_bytes(16, "big"), TOP.to_bytes(16, "big")
    with pytest.raises(OverflowError):
        kernel.level(b"p", b"\x00" * 64, top + one, b"\x00" * 32, 16, 1)
    # two entries for one asset in one leaf
    with pytest.raises(ValueError, match="two balances"):
        kernel.leaves(
            b"p", b"\x00" * 32, b"\x00" * 32, np.array([0, 2]), np.array([0, 0], np.uint16), one + one, 16, 1
        )
    # an asset index beyond the row
    with pytest.raises(ValueError, match="asset index"):
        kernel.leaves(
            b"p", b"\x00" * 32, b"\x00" * 32, np.array([0, 1]), np.array([3], np.uint16), one, 32, 1
        )


def decimal128(values):
    """Unscaled integers as little-endian two's-complement decimal128 bytes."""
    return b"".join((v % 2**128).to_bytes(16, "little") for v in values)


@pytest.mark.parametrize("kernel", sorted({PURE, NATIVE}, key=str))
def test_scale_divides_exactly_or_refuses(kernel):
    # amounts at scale 18; asset 0 has scale 8 (divide by 10^10), asset 1 scale 18, asset 2 scale 0
    code = np.array([0, 1, 2, 0, 2], dtype=np.int32)
    asset_of = np.array([0, 1, 2], dtype=np.int32)
    exponent = np.array([10, 0, 18], dtype=np.int32)
    amounts = [
        25000001 * 10**10,  # 0.25000001 BTC
        10**19 + 1,  # 10.000000000000000001 ETH
        123456 * 10**18,  # ¥123,456
        (2**126 // 10**10) * 10**10,  # near the top, still exact
        0,
    ]
    which, units = kernel.scale(code, asset_of, exponent, decimal128(amounts))
    assert np.frombuffer(which, np.uint16).tolist() == [0, 1, 2, 0, 2]
    got = [int.from_bytes(units[i : i + 16], "big") for i in range(0, len(units), 16)]
    assert got == [25000001, 10**19 + 1, 123456, 2**126 // 10**10, 0]
    with pytest.raises(ValueError, match="balance row 1"):
        kernel.scale(code[:2], asset_of, exponent, decimal128([10**10, -5]))  # negative
    with pytest.raises(ValueError, match="balance row 0"):
        kernel.scale(code[:1], asset_of, exponent, decimal128([10**10 + 1]))  # finer than satoshi
    with pytest.raises(ValueError, match="balance row 0"):
        kernel.scale(code[:1], np.array([-1, 1, 2], np.int32), exponent, decimal128([10**10]))  # unlisted


@needs_native
def test_scale_random_amounts_match_the_reference():
    rng = np.random.default_rng(20261124)
    rows = 20_000
    code = rng.integers(0, 4, size=rows).astype(np.int32)
    asset_of = np.array([0, 1, 2, 3], dtype=np.int32)
    exponent = np.array([0, 10, 12, 18], dtype=np.int32)
    # below 2^40 · 10^18 · 2^20 < 2^120
    amounts = [
        int(rng.integers(0, 2**40)) * 10 ** int(exponent[c]) * int(rng.integers(1, 2**20)) for c in code
    ]
    assert NATIVE.scale(code, asset_of, exponent, decimal128(amounts)) == PURE.scale(
        code, asset_of, exponent, decimal128(amounts)
    )


@needs_native
def test_a_whole_build_is_byte_identical_in_c_and_in_python(tmp_path):
    from caspr.snapshot.generator import generate

    snap = load_snapshot(generate(tmp_path / "g", 5000, seed=9).out)
    native = por.build(snap, tmp_path / "c", audit_id="a", seed=3)
    pure = por.build(snap, tmp_path / "py", audit_id="a", seed=3, pure=True)
    assert native.root == pure.root
    assert native.kernels != pure.kernels
    names = sorted(p.name for p in (tmp_path / "c").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "py").iterdir())
    for name in names:
        assert (tmp_path / "c" / name).read_bytes() == (tmp_path / "py" / name).read_bytes(), name


def test_row_order_of_the_balances_does_not_change_the_tree(tmp_path):
    lines = FILES["balances.csv"].splitlines()
    shuffled = "\n".join([lines[0], *reversed(lines[1:])]) + "\n"  # not grouped, not sorted
    a = por.build(load_snapshot(write_snapshot(tmp_path / "a")), tmp_path / "pa", audit_id="x", seed=5)
    b = por.build(
        load_snapshot(write_snapshot(tmp_path / "b", balances_csv=shuffled)),
        tmp_path / "pb",
        audit_id="x",
        seed=5,
    )
    assert a.root == b.root
    assert json.dumps(por.proof(tmp_path / "pa", "A2")) == json.dumps(por.proof(tmp_path / "pb", "A2"))


@pytest.mark.parametrize(
    "rows",
    [
        ["A1", "A1", "A2", "A3", "A3"],  # sorted: the one-pass path
        ["A2", "A2", "A1", "A3"],  # grouped, not sorted
        ["A1", "A2", "A1", "A3"],  # not grouped
        ["A1"],
    ],
)
def test_account_ordinals_are_ids_ascending_whatever_the_row_order(rows):
    import pyarrow as pa

    ids, ordinal = por._account_ordinals(pa.array(rows))
    assert ids.to_pylist() == sorted(set(rows))
    assert [ids[int(i)].as_py() for i in ordinal] == rows
