"""Which proof-of-liabilities kernels a test can compare: C against Python, never Python twice.

Where the C extension ``caspr.custody._merkle`` was not compiled, ``kernels.kernels()``
returns the pure-Python kernels: a test that compared "C" with Python would then compare
Python with itself and pass whatever the C code does. Tests that need the C kernels take
them from :func:`native` (or carry :data:`needs_native`): they skip, saying why, where the
extension is absent, and fail instead under ``CASPR_REQUIRE_NATIVE=1`` (CI).
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from caspr.custody import kernels

PURE: Any = kernels.PurePython
_LOADED: Any = kernels.kernels()
HAVE_NATIVE = _LOADED is not PURE
REQUIRED = os.environ.get("CASPR_REQUIRE_NATIVE") == "1"
REASON = "the C extension caspr.custody._merkle was not compiled (no compiler or OpenSSL headers)"

needs_native = pytest.mark.skipif(not HAVE_NATIVE and not REQUIRED, reason=REASON)
"""Skip where the C kernels are absent, unless CI requires them (then :func:`native` fails)."""


def native() -> Any:
    """The C kernels; skip (or, under CASPR_REQUIRE_NATIVE=1, fail) where they were not built."""
    if not HAVE_NATIVE:
        if REQUIRED:
            pytest.fail(f"CASPR_REQUIRE_NATIVE=1 but {REASON}")
        pytest.skip(REASON)
    return _LOADED


KERNEL_NAMES = ("python", "c")


def kernel_named(name: str) -> Any:
    """``python`` -> the reference kernels; ``c`` -> :func:`native` (skips visibly when absent)."""
    return PURE if name == "python" else native()
