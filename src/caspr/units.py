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
