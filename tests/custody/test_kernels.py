"""The C kernels of caspr-por/1 compute exactly the bytes of the pure-Python reference.

Seeded random inputs (they replay), edge values at 2^128, odd counts that need the empty
pad, and every refusal (overflow, negative, finer than the scale, duplicates, bad asset).
Where the C extension was not compiled these tests skip with the reason, except under
CI (CASPR_REQUIRE_NATIVE=1), where its absence is a failure.
"""

from __future__ import annotations

import collections
import hashlib
import json

import numpy as np
import pytest

from caspr.custody import kernels, por
from caspr.snapshot.loader import load_snapshot
from tests.conftest import FILES, write_snapshot
from tests.native import KERNEL_NAMES, PURE, REQUIRED, kernel_named, native, needs_native

TOP = 2**128 - 1


def test_the_c_extension_is_built_where_ci_requires_it():
    if not REQUIRED:
        pytest.skip("CASPR_REQUIRE_NATIVE is not set (only CI requires the C extension)")
    assert native() is not PURE, "CI must build caspr.custody._merkle"
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


@needs_native
def test_c_ids_match_hashlib():
    strings = [b"", b"A1", "顧客-42".encode(), b"x" * 300]
    data = b"".join(strings)
    offsets = np.cumsum([0] + [len(s) for s in strings]).astype(np.int64)
    assert native().ids(offsets, data, 2) == b"".join(hashlib.sha256(s).digest() for s in strings)


@needs_native
@pytest.mark.parametrize("rows", [1, 2, 7, 5000, 9001])
def test_leaves_and_levels_match_the_reference(rows):
    rng = np.random.default_rng(rows)  # seeded: replays
    assets, width = 5, 80
    offsets, which, units = random_sparse(rng, rows, assets, big=True)
    nonces, id_hashes = rng.bytes(32 * rows), rng.bytes(32 * rows)
    prefix = por.LEAF_TAG + rng.bytes(32)
    leaves = native().leaves(prefix, nonces, id_hashes, offsets, which, units, width, 2)
    assert leaves == PURE.leaves(prefix, nonces, id_hashes, offsets, which, units, width, 1)
    pad = rng.bytes(32)
    base = por.NODE_TAG + rng.bytes(32)
    for levels in (1, 2, 4):
        pads = rng.bytes(32 * levels)
        hashes, values = native().block(base, leaves, offsets, which, units, pads, levels, width, 2)
        assert (hashes, values) == PURE.block(base, leaves, offsets, which, units, pads, levels, width, 1)
        assert len(hashes) == 32 * -(-rows // 2**levels)  # a partial last block is padded
    # a block is the levels one at a time, each with its own prefix and pad
    dense = kernels.expand(offsets, which, units, width).tobytes()
    one = native().level(base + b"\x01", leaves, dense, pads[:32], width, 2)
    two = native().level(base + b"\x02", *one, pads[32:64], width, 2)
    assert native().block(base, leaves, offsets, which, units, pads[:64], 2, width, 2) == two
    up = native().level(base + b"\x03", *two, pad, width, 2)
    assert up == PURE.level(base + b"\x03", *two, pad, width, 1)


@pytest.mark.parametrize("name", KERNEL_NAMES)
def test_a_parent_is_the_documented_hash_of_its_children(name):
    audit = hashlib.sha256(b"audit").digest()
    left, right = hashlib.sha256(b"L").digest(), hashlib.sha256(b"R").digest()
    left_values, right_values = [5, TOP - 5], [7, 5]
    values = por.encode_values(left_values) + por.encode_values(right_values)
    kernel = kernel_named(name)
    hashes, sums = kernel.level(por.NODE_TAG + audit + b"\x03", left + right, values, b"\x00" * 32, 32, 1)
    assert hashes == por.node_hash(audit, 3, left, left_values, right, right_values)
    assert sums == por.encode_values([12, TOP])  # TOP - 5 + 5 = 2^128 - 1 exactly: no overflow


@pytest.mark.parametrize("name", KERNEL_NAMES)
def test_refusals(name):
    kernel = kernel_named(name)
    one, top = (1).to_bytes(16, "big"), TOP.to_bytes(16, "big")
    with pytest.raises(OverflowError):
        kernel.level(b"p", b"\x00" * 64, top + one, b"\x00" * 32, 16, 1)
    zero = b"\x00" * 32
    # two entries for one asset in one leaf
    with pytest.raises(ValueError, match="two balances"):
        kernel.leaves(b"p", zero, zero, np.array([0, 2]), np.array([0, 0], np.uint16), one + one, 16, 1)
    # an asset index beyond the row
    with pytest.raises(ValueError, match="asset index"):
        kernel.leaves(b"p", zero, zero, np.array([0, 1]), np.array([3], np.uint16), one, 32, 1)
    # an order that is not a permutation of the rows: a row twice, another never, or too few
    two = np.array([0, 1, 2]), np.array([0, 0], np.uint16), one + one
    for order in ([0, 0], [0, 2], [-1, 1], [0]):
        with pytest.raises(ValueError, match=r"permutation|inconsistent"):
            kernel.gather(np.array(order, np.int64), *two, 1)


@needs_native
@pytest.mark.parametrize("rows", [1, 2, 7, 5000, 9001])
def test_gather_and_take_put_rows_in_the_given_order(rows):
    rng = np.random.default_rng(rows + 1)  # seeded: replays
    offsets, which, units = random_sparse(rng, rows, 5)
    order = rng.permutation(rows).astype(np.int64)
    moved = native().gather(order, offsets, which, units, 2)
    assert moved == PURE.gather(order, offsets, which, units, 1)
    # row p of the result is row order[p] of the input, entry for entry
    new_offsets = np.frombuffer(moved[0], np.int64)
    p = int(rng.integers(0, rows))
    a = int(order[p])
    assert (
        moved[1][2 * new_offsets[p] : 2 * new_offsets[p + 1]] == which[offsets[a] : offsets[a + 1]].tobytes()
    )
    assert (
        moved[2][16 * new_offsets[p] : 16 * new_offsets[p + 1]]
        == units[16 * offsets[a] : 16 * offsets[a + 1]]
    )
    hashes = rng.bytes(32 * rows)
    taken = native().take(order, hashes, 32, 2)
    assert taken == PURE.take(order, hashes, 32, 1)
    assert taken[32 * p : 32 * p + 32] == hashes[32 * a : 32 * a + 32]
    with pytest.raises(ValueError, match="outside"):
        native().take(np.array([rows], np.int64), hashes, 32, 1)


def decimal128(values):
    """Unscaled integers as little-endian two's-complement decimal128 bytes."""
    return b"".join((v % 2**128).to_bytes(16, "little") for v in values)


@pytest.mark.parametrize("name", KERNEL_NAMES)
def test_scale_divides_exactly_or_refuses(name):
    kernel = kernel_named(name)
    # amounts at scale 18; asset 0 has scale 8 (divide by 10^10), asset 1 scale 18, asset 2 scale 0
    asset = np.array([0, 1, 2, 0, 2], dtype=np.int32)
    exponent = np.array([10, 0, 18], dtype=np.int32)
    amounts = [
        25000001 * 10**10,  # 0.25000001 BTC
        10**19 + 1,  # 10.000000000000000001 ETH
        123456 * 10**18,  # ¥123,456
        (2**126 // 10**10) * 10**10,  # near the top, still exact
        0,
    ]
    units = kernel.scale(asset, exponent, decimal128(amounts), 2)
    got = [int.from_bytes(units[i : i + 16], "big") for i in range(0, len(units), 16)]
    assert got == [25000001, 10**19 + 1, 123456, 2**126 // 10**10, 0]
    with pytest.raises(ValueError, match="balance row 1: negative"):
        kernel.scale(asset[:2], exponent, decimal128([10**10, -5]), 1)
    with pytest.raises(ValueError, match="balance row 0: amount finer"):
        kernel.scale(asset[:1], exponent, decimal128([10**10 + 1]), 1)  # finer than a satoshi
    with pytest.raises(ValueError, match="balance row 0: asset not in"):
        kernel.scale(np.array([-1], np.int32), exponent, decimal128([10**10]), 1)
    with pytest.raises(ValueError, match="balance row 0: asset not in"):
        kernel.scale(np.array([3], np.int32), exponent, decimal128([10**10]), 1)


@pytest.mark.parametrize("name", KERNEL_NAMES)
def test_scale_names_the_first_bad_row_across_threads(name):
    kernel = kernel_named(name)
    # 10,000 rows split over two threads: bad rows in both halves, the first one is named
    rows = 10_000
    asset = np.zeros(rows, dtype=np.int32)
    amounts = [10**10] * rows
    amounts[9000] = -1  # negative, in the second thread's half
    amounts[6001] = 10**10 + 7  # finer, earlier, also in the second half
    asset[7000] = -1  # unlisted, later
    with pytest.raises(ValueError, match="balance row 6001: amount finer"):
        kernel.scale(asset, np.array([10], np.int32), decimal128(amounts), 2)
    amounts[4999] = -3  # now one in the first half
    with pytest.raises(ValueError, match="balance row 4999: negative"):
        kernel.scale(asset, np.array([10], np.int32), decimal128(amounts), 2)


@needs_native
def test_scale_random_amounts_match_the_reference():
    rng = np.random.default_rng(20261124)
    rows = 20_000
    asset = rng.integers(0, 4, size=rows).astype(np.int32)
    exponent = np.array([0, 10, 12, 18], dtype=np.int32)
    # below 2^40 · 10^18 · 2^20 < 2^120
    amounts = [
        int(rng.integers(0, 2**40)) * 10 ** int(exponent[c]) * int(rng.integers(1, 2**20)) for c in asset
    ]
    assert native().scale(asset, exponent, decimal128(amounts), 2) == PURE.scale(
        asset, exponent, decimal128(amounts), 1
    )


@pytest.mark.parametrize("name", KERNEL_NAMES)
def test_shuffle_is_a_uniform_permutation(name):
    kernel = kernel_named(name)
    assert kernel.shuffle(0) == b""
    assert np.frombuffer(kernel.shuffle(1), np.int64).tolist() == [0]
    big = np.frombuffer(kernel.shuffle(100_003), np.int64)
    assert np.array_equal(np.sort(big), np.arange(100_003))
    assert not np.array_equal(big, np.arange(100_003))
    # all 24 orders of 4 items about equally often: chi-square, 23 degrees of freedom
    draws = 12_000
    seen = collections.Counter(kernel.shuffle(4) for _ in range(draws))
    assert len(seen) == 24
    expected = draws / 24
    chi2 = sum((count - expected) ** 2 / expected for count in seen.values())
    assert chi2 < 60  # p < 1e-4 for a fair shuffle; a biased one (e.g. j in [0, n)) lands far above


@pytest.mark.parametrize("name", KERNEL_NAMES)
def test_random_bytes_are_fresh(name):
    kernel = kernel_named(name)
    a, b = kernel.random(3 << 20, 2), kernel.random(3 << 20, 2)  # three chunks: both threads
    assert len(a) == len(b) == 3 << 20
    assert a != b
    counts = np.bincount(np.frombuffer(a, dtype=np.uint8), minlength=256)
    assert counts.min() > 0.9 * len(a) / 256  # every byte value about equally often
    assert kernel.random(0, 2) == b""


@needs_native
def test_a_whole_build_is_byte_identical_in_c_and_in_python(tmp_path):
    from caspr.snapshot.generator import generate

    native()  # fails under CASPR_REQUIRE_NATIVE=1 without the C kernels
    snap = load_snapshot(generate(tmp_path / "g", 5000, seed=9).out)
    c_build = por.build(snap, tmp_path / "c", audit_id="a", seed=3)
    pure = por.build(snap, tmp_path / "py", audit_id="a", seed=3, pure=True)
    assert c_build.root == pure.root
    assert c_build.kernels != pure.kernels
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
        ["b", "B", "a", "é", "A"],  # byte order, not locale order
        ["A1"],
    ],
)
def test_accounts_are_ids_ascending_with_their_rows_whatever_the_row_order(rows):
    import pyarrow as pa

    ids, offsets, grouped = por._accounts(pa.array(rows))
    assert ids.to_pylist() == sorted(set(rows), key=str.encode)
    taken = rows if grouped is None else [rows[int(i)] for i in grouped]
    assert sorted(grouped.tolist() if grouped is not None else range(len(rows))) == list(range(len(rows)))
    for i, account in enumerate(ids.to_pylist()):
        assert taken[offsets[i] : offsets[i + 1]] == [account] * rows.count(account)
    assert offsets[-1] == len(rows)


@needs_native
def test_every_c_entry_point_checks_its_arguments_before_touching_memory():
    # each call below would read or write outside a buffer if the C code trusted its arguments
    c = native()
    zero32, one = b"\x00" * 32, (1).to_bytes(16, "big")
    cases = [
        (lambda: c.ids(np.array([0, 5], np.int64), b"abc", 1), "outside the string data"),
        (lambda: c.ids(np.array([2, 1], np.int64), b"abc", 1), "outside the string data"),
        (lambda: c.ids(b"\x00" * 7, b"", 1), "int64 with n"),
        (
            lambda: c.scale(np.array([0], np.int32), np.array([39], np.int32), bytes(16), 1),
            "exponent outside",
        ),
        (lambda: c.scale(np.array([0, 0], np.int32), np.array([0], np.int32), bytes(16), 1), "inconsistent"),
        (lambda: c.random(-1, 1), "negative size"),
        (lambda: c.shuffle(-1), "negative size"),
        (lambda: c.take(np.array([0], np.int64), b"\x00" * 31, 32, 1), "inconsistent"),
        (lambda: c.take(np.array([0], np.int64), b"", 0, 1), "inconsistent"),
        (lambda: c.level(b"p", zero32 * 2, one * 3, zero32, 16, 1), "inconsistent"),
        (lambda: c.level(b"p", zero32 * 2, one * 2, b"\x00" * 31, 16, 1), "inconsistent"),
        (lambda: c.level(b"p", zero32, one, zero32, 15, 1), "inconsistent"),
        (
            lambda: c.leaves(
                b"p", zero32, zero32, np.array([0, 1], np.int64), np.array([0], np.uint16), one, 8, 1
            ),
            "inconsistent",
        ),
        (
            lambda: c.leaves(
                b"p", zero32, zero32 * 2, np.array([0, 1], np.int64), np.array([0], np.uint16), one, 16, 1
            ),
            "inconsistent",
        ),
        (
            lambda: c.leaves(
                b"p", zero32, zero32, np.array([0, 2], np.int64), np.array([0], np.uint16), one, 16, 1
            ),
            "inconsistent",
        ),
        (
            lambda: c.leaves(
                b"p",
                zero32 * 2,
                zero32 * 2,
                np.array([0, 1, 0], np.int64),
                np.array([0], np.uint16),
                one,
                16,
                1,
            ),
            "inconsistent|decrease",
        ),
        (
            lambda: c.block(
                b"p", zero32, np.array([0, 1], np.int64), np.array([0], np.uint16), one, b"", 0, 16, 1
            ),
            "inconsistent",
        ),
        (
            lambda: c.block(
                b"p", zero32, np.array([0, 1], np.int64), np.array([0], np.uint16), one, zero32 * 9, 9, 16, 1
            ),
            "inconsistent",
        ),
        (
            lambda: c.block(
                b"p", zero32, np.array([0, 1], np.int64), np.array([0], np.uint16), one, zero32, 2, 16, 1
            ),
            "inconsistent",
        ),
        (
            lambda: c.gather(
                np.array([0], np.int64), np.array([0, 2], np.int64), np.array([0], np.uint16), one, 1
            ),
            "inconsistent",
        ),
        (
            lambda: c.gather(
                np.array([1], np.int64), np.array([0, 1], np.int64), np.array([0], np.uint16), one, 1
            ),
            "permutation",
        ),
    ]
    for call, message in cases:
        with pytest.raises(ValueError, match=message):
            call()
