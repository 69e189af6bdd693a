"""The hot loops of the ``caspr-por/1`` builder, in C when compiled and in Python otherwise.

``caspr.custody._merkle`` (``_merkle.c``, built at install when a C compiler and OpenSSL's
headers are there) hashes with OpenSSL's SHA-256 — the library behind Python's hashlib —
over every core with the GIL released. :class:`PurePython` computes the same bytes with
NumPy and hashlib on one core; tests hold the two to byte equality, so the format is
defined once (docs/por.md, :mod:`caspr.custody.por`) whichever runs.

Layouts shared by both (all plain byte buffers):

* a hash is 32 bytes; a value is a 16-byte big-endian unsigned integer; a row of values
  is ``width = 16 × assets`` bytes;
* sparse values (the leaves: most customers hold few of the assets) are ``offsets``
  (int64, one more than rows, rising from 0), ``assets`` (uint16 asset index per entry)
  and ``units`` (16 bytes per entry);
* ``order`` (int64, a permutation) says which input row lands at each output row:
  ``gather`` and ``take`` put account-ordered data in the leaves' secret random order
  once, so the hashing reads memory in sequence.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import random
import secrets
from typing import Any

import numpy as np
import pyarrow as pa

from caspr.units import decimal_limbs

_native: Any
try:
    from caspr.custody import _merkle as _native
except ImportError:  # pragma: no cover - no C compiler or OpenSSL headers at install
    _native = None

VALUE_BYTES = 16


def threads() -> int:
    """Threads for the C kernels: the cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def _digests(matrix: Any) -> bytes:
    """SHA-256 of every row of a uint8 matrix, concatenated."""
    flat = np.ascontiguousarray(matrix).reshape(-1).data
    width = matrix.shape[1]
    sha = hashlib.sha256
    return b"".join([sha(flat[i : i + width]).digest() for i in range(0, len(flat), width)])


def _add(left: Any, right: Any) -> Any:
    """Per-asset sums of two (m, width) uint8 matrices of 16-byte big-endian values.

    Raises:
        OverflowError: a sum exceeds 2^128 - 1.
    """
    m, width = left.shape
    shape = (m, width // VALUE_BYTES, 2)
    a = np.ascontiguousarray(left).view(">u8").reshape(shape).astype(np.uint64)
    b = np.ascontiguousarray(right).view(">u8").reshape(shape).astype(np.uint64)
    lo = a[..., 1] + b[..., 1]
    carry = (lo < a[..., 1]).astype(np.uint64)
    b_hi = b[..., 0] + carry
    hi = a[..., 0] + b_hi
    if bool(np.any((b_hi < b[..., 0]) | (hi < a[..., 0]))):
        msg = "a per-asset sum exceeds 2^128 - 1"
        raise OverflowError(msg)
    out = np.empty(shape, dtype=">u8")
    out[..., 0], out[..., 1] = hi, lo
    return out.view(np.uint8).reshape(m, width)


def expand(offsets: Any, assets: Any, units: Any, width: int) -> Any:
    """Sparse values as a dense (rows, width) uint8 matrix.

    Raises:
        ValueError: an asset index outside the row, or two entries for one asset in a row.
    """
    bounds = np.frombuffer(offsets, dtype=np.int64)
    which = np.frombuffer(assets, dtype=np.uint16).astype(np.int64)
    rows, columns = len(bounds) - 1, width // VALUE_BYTES
    if len(which) and int(which.max()) >= columns:
        msg = "asset index outside the asset list"
        raise ValueError(msg)
    slot = np.repeat(np.arange(rows, dtype=np.int64), np.diff(bounds)) * columns + which
    if len(np.unique(slot)) != len(slot):
        msg = "two balances for one asset"
        raise ValueError(msg)
    dense = np.zeros((rows * columns, VALUE_BYTES), dtype=np.uint8)
    dense[slot] = np.frombuffer(units, dtype=np.uint8).reshape(-1, VALUE_BYTES)
    return dense.reshape(rows, width)


def _permutation(order: Any, accounts: int) -> Any:
    """``order`` as int64, checked to be a permutation of 0..accounts-1.

    Raises:
        ValueError: an account missing, repeated or out of range.
    """
    account = np.frombuffer(order, dtype=np.int64)
    if len(account) != accounts or not np.array_equal(
        np.bincount(account[(account >= 0) & (account < accounts)], minlength=accounts),
        np.ones(accounts, dtype=np.int64),
    ):
        msg = "order: not a permutation of the accounts"
        raise ValueError(msg)
    return account


def _first_finer(rows: Any, limbs: Any, shift: int) -> int | None:
    """The first of ``rows`` whose amount has digits below 10^shift, or None."""
    raw = pa.py_buffer(np.ascontiguousarray(limbs[rows]).tobytes())
    scaled = pa.Array.from_buffers(pa.decimal128(38, shift), len(rows), [None, raw])
    try:
        scaled.cast(pa.decimal128(38, 0))
    except pa.ArrowInvalid:
        first: int = next(
            r for r in rows.tolist() if (int(limbs[r, 0]) + (int(limbs[r, 1]) << 64)) % 10**shift
        )
        return first
    return None


def _first_bad_row(which: Any, limbs: Any, shifts: Any) -> str | None:
    """Why the first bad balance row is bad (as the C kernel reports it), or None."""
    listed = (which >= 0) & (which < len(shifts))
    negative = (limbs[:, 1] >> np.uint64(63)).astype(bool)
    bad = {int(r): "asset not in the asset list" for r in np.flatnonzero(~listed)[:1]}
    bad.update({int(r): "negative amount" for r in np.flatnonzero(listed & negative)[:1]})
    for a, shift in enumerate(shifts.tolist()):
        rows = np.flatnonzero((which == a) & ~negative)
        first = _first_finer(rows, limbs, shift) if shift and len(rows) else None
        if first is not None:
            bad[first] = "amount finer than the asset's scale"
    if not bad:
        return None
    r = min(bad)
    return f"balance row {r}: {bad[r]}"


class PurePython:
    """The kernels of ``caspr.custody._merkle`` in NumPy and hashlib: same signatures, same bytes.

    ``threads`` is accepted and ignored (one core).
    """

    @staticmethod
    def ids(offsets: Any, data: Any, threads: int) -> bytes:
        """SHA-256 of each string given by int64 ``offsets`` into ``data``, concatenated."""
        bounds = np.frombuffer(offsets, dtype=np.int64).tolist()
        view = memoryview(data)
        sha = hashlib.sha256
        return b"".join([sha(view[a:b]).digest() for a, b in itertools.pairwise(bounds)])

    @staticmethod
    def scale(asset: Any, exponent: Any, amounts: Any, threads: int) -> bytes:
        """Each balance row's amount at its asset's scale, as 16-byte big-endian units.

        ``asset`` (int32) is the row's index in the asset list (-1: not listed);
        ``amounts`` are unscaled decimal128 (little-endian two's complement); row r's
        amount is divided exactly by 10^exponent[asset[r]]. Arrow refuses a cast that
        drops digits.
        """
        which = np.frombuffer(asset, dtype=np.int32)
        limbs = np.frombuffer(amounts, dtype=np.uint64).reshape(-1, 2)
        shifts = np.frombuffer(exponent, dtype=np.int32)
        bad = _first_bad_row(which, limbs, shifts)
        if bad is not None:
            raise ValueError(bad)
        units = np.zeros((len(limbs), 2), dtype=">u8")
        for a, shift in enumerate(shifts.tolist()):
            rows = np.flatnonzero(which == a)
            if len(rows) == 0:
                continue
            raw = pa.py_buffer(np.ascontiguousarray(limbs[rows]).tobytes())
            scaled = pa.Array.from_buffers(pa.decimal128(38, shift), len(rows), [None, raw])
            exact = decimal_limbs(scaled.cast(pa.decimal128(38, 0)))
            units[rows, 0], units[rows, 1] = exact[:, 1], exact[:, 0]
        return units.tobytes()

    @staticmethod
    def random(size: int, threads: int) -> bytes:
        """``size`` bytes from the operating system's CSPRNG (:func:`secrets.token_bytes`)."""
        return secrets.token_bytes(size)

    @staticmethod
    def shuffle(n: int) -> bytes:
        """A uniformly random permutation of 0..n-1 (int64), from the operating system's CSPRNG."""
        order = list(range(n))
        random.SystemRandom().shuffle(order)
        return np.array(order, dtype=np.int64).tobytes()

    @staticmethod
    def gather(order: Any, offsets: Any, assets: Any, units: Any, threads: int) -> tuple[bytes, bytes, bytes]:
        """Sparse rows reordered: row p of the result is row order[p] (a permutation) of the input."""
        bounds = np.frombuffer(offsets, dtype=np.int64)
        row = _permutation(order, len(bounds) - 1)
        which = np.frombuffer(assets, dtype=np.uint16)
        if (
            len(bounds) < 1
            or bounds[0] != 0
            or bounds[-1] != len(which)
            or memoryview(units).nbytes != 16 * len(which)
        ):
            msg = "sparse values: inconsistent buffer sizes"
            raise ValueError(msg)
        lengths = np.diff(bounds)[row]
        out = np.zeros(len(row) + 1, dtype=np.int64)
        np.cumsum(lengths, out=out[1:])
        entries = np.repeat(bounds[:-1][row] - out[:-1], lengths) + np.arange(out[-1], dtype=np.int64)
        rows = np.frombuffer(units, dtype=np.uint8).reshape(-1, VALUE_BYTES)
        return out.tobytes(), which[entries].tobytes(), rows[entries].tobytes()

    @staticmethod
    def take(order: Any, rows: Any, size: int, threads: int) -> bytes:
        """Fixed-size rows reordered: row p of the result is ``rows[order[p]]``."""
        matrix = np.frombuffer(rows, dtype=np.uint8).reshape(-1, size)
        return matrix[np.frombuffer(order, dtype=np.int64)].tobytes()

    @staticmethod
    def leaves(
        prefix: bytes,
        nonces: Any,
        id_hashes: Any,
        offsets: Any,
        assets: Any,
        units: Any,
        width: int,
        threads: int,
    ) -> bytes:
        """Leaf hashes: SHA-256(prefix ‖ nonce ‖ id hash ‖ values) per row."""
        values = expand(offsets, assets, units, width)
        n = values.shape[0]
        matrix = np.empty((n, len(prefix) + 64 + width), dtype=np.uint8)
        matrix[:, : len(prefix)] = np.frombuffer(prefix, dtype=np.uint8)
        matrix[:, len(prefix) : len(prefix) + 32] = np.frombuffer(nonces, dtype=np.uint8).reshape(n, 32)
        matrix[:, len(prefix) + 32 : len(prefix) + 64] = np.frombuffer(id_hashes, dtype=np.uint8).reshape(
            n, 32
        )
        matrix[:, len(prefix) + 64 :] = values
        return _digests(matrix)

    @staticmethod
    def level(
        prefix: bytes, hashes: Any, values: Any, pad: bytes, width: int, threads: int
    ) -> tuple[bytes, bytes]:
        """The parents of a level: SHA-256(prefix ‖ hL ‖ vL ‖ hR ‖ vR) and vL + vR.

        An odd last child pairs with the empty subtree ``pad`` (values zero).
        """
        h = np.frombuffer(hashes, dtype=np.uint8).reshape(-1, 32)
        v = np.frombuffer(values, dtype=np.uint8).reshape(-1, width)
        if v.shape[0] != h.shape[0]:
            msg = "level: inconsistent buffer sizes"
            raise ValueError(msg)
        if h.shape[0] % 2:
            h = np.vstack([h, np.frombuffer(pad, dtype=np.uint8)[None, :]])
            v = np.vstack([v, np.zeros((1, width), dtype=np.uint8)])
        m = h.shape[0] // 2
        matrix = np.empty((m, len(prefix) + 2 * (32 + width)), dtype=np.uint8)
        matrix[:, : len(prefix)] = np.frombuffer(prefix, dtype=np.uint8)
        offset = len(prefix)
        for side in (0, 1):
            matrix[:, offset : offset + 32] = h[side::2]
            matrix[:, offset + 32 : offset + 32 + width] = v[side::2]
            offset += 32 + width
        return _digests(matrix), _add(v[0::2], v[1::2]).tobytes()

    @staticmethod
    def block(
        base: bytes,
        leaves: Any,
        offsets: Any,
        assets: Any,
        units: Any,
        pads: bytes,
        levels: int,
        width: int,
        threads: int,
    ) -> tuple[bytes, bytes]:
        """The nodes at ``levels`` over sparse leaves: :meth:`level` ``levels`` times.

        The prefix of level L is ``base`` ‖ L; ``pads`` holds the empty subtrees of levels
        0..levels-1 (32 bytes each).
        """
        if not 1 <= levels <= 8 or len(pads) != 32 * levels:
            msg = "block: inconsistent buffer sizes"
            raise ValueError(msg)
        hashes, values = leaves, expand(offsets, assets, units, width)
        for level in range(1, levels + 1):
            pad = pads[32 * (level - 1) : 32 * level]
            hashes, values = PurePython.level(base + bytes([level]), hashes, values, pad, width, threads)
        return hashes, values


def kernels(pure: bool = False) -> Any:
    """The C kernels when compiled (and not ``pure``), else :class:`PurePython`."""
    return PurePython if pure or _native is None else _native


def describe(pure: bool = False) -> str:
    """Which kernels run, for reports and benchmarks."""
    if kernels(pure) is PurePython:
        return "pure Python (NumPy + hashlib, one core)"
    return f"C extension (OpenSSL SHA-256, {threads()} threads)"
