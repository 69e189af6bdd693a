"""Exact integer minor units ↔ Arrow DECIMAL128, without passing through Python Decimals.

A decimal128 value is a 128-bit two's-complement integer (the unscaled value) plus a
scale; these helpers read and write that integer directly, as two uint64 limbs.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

MASK64 = (1 << 64) - 1


def decimal_limbs(array: Any) -> Any:
    """(n, 2) uint64 [lo, hi] of a decimal128 array's unscaled integers (a view, no copy)."""
    array = array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array
    raw = np.frombuffer(array.buffers()[1], dtype=np.uint64, count=2 * (array.offset + len(array)))
    return raw.reshape(-1, 2)[array.offset :]


MAX_TEN_POWER = 19
""":func:`multiples_of_ten` works in uint64 for 10^k with k up to 19 (5^19 < 2^45)."""


def multiples_of_ten(limbs: Any, k: int) -> Any:
    """Whether each non-negative 128-bit integer (limbs [lo, hi]) is a multiple of 10^k, 0 <= k <= 19.

    Exact, in uint64 NumPy: 10^k = 2^k · 5^k, so v is a multiple exactly when its low k bits
    are zero and v mod 5^k is zero. Where the high limb is zero that is one remainder; else
    v mod 5^k is folded from the high limb 19 bits at a time (r < 5^19 < 2^45, so
    r · 2^19 < 2^64 never overflows).
    """
    if not 0 <= k <= MAX_TEN_POWER:
        msg = f"10^{k}: k must be 0..{MAX_TEN_POWER}"
        raise ValueError(msg)
    lo, hi = limbs[:, 0], limbs[:, 1]
    if k == 0:
        return np.ones(len(lo), dtype=bool)
    modulus = np.uint64(5**k)
    even = (lo & np.uint64((1 << k) - 1)) == 0  # a multiple of 2^k: only the low limb decides
    result = even & (lo % modulus == 0)
    wide = np.flatnonzero(hi)
    if len(wide):
        rest = hi[wide] % modulus
        for bits in (19, 19, 19, 7):  # the high limb weighs 2^64
            rest = (rest << np.uint64(bits)) % modulus
        rest = (rest + lo[wide] % modulus) % modulus
        result[wide] = even[wide] & (rest == 0)
    return result


def decimal_units(array: Any) -> Any:
    """The unscaled integers of a non-negative decimal128 array.

    A uint64 array when every value fits in 64 bits (the common case), else a list of
    Python integers.
    """
    limbs = decimal_limbs(array)
    lo, hi = limbs[:, 0], limbs[:, 1]
    if not hi.any():
        return lo.copy()
    values: list[int] = lo.tolist()
    for index in np.nonzero(hi)[0]:
        values[index] += int(hi[index]) << 64
    return values


def units_decimal(values: Any, scale: int) -> pa.Array:
    """decimal128(38, scale) whose unscaled integers are the non-negative ``values``."""
    try:
        lo = np.asarray(values, dtype=np.uint64)
        hi = np.zeros_like(lo)
    except (OverflowError, TypeError):
        objects = np.asarray(values, dtype=object)
        lo = (objects & MASK64).astype(np.uint64)
        hi = (objects >> 64).astype(np.uint64)
    buffer = pa.py_buffer(np.ascontiguousarray(np.stack([lo, hi], axis=1)).tobytes())
    return pa.Array.from_buffers(pa.decimal128(38, scale), len(lo), [None, buffer])
