"""Type stub of the C extension built from _merkle.c (see caspr.custody.kernels)."""

from typing import Any

def ids(offsets: Any, data: Any, threads: int, /) -> bytes: ...
def scale(code: Any, asset_of: Any, exponent: Any, amounts: Any, /) -> tuple[bytes, bytes]: ...
def leaves(
    prefix: bytes,
    nonces: Any,
    id_hashes: Any,
    offsets: Any,
    assets: Any,
    units: Any,
    width: int,
    threads: int,
    /,
) -> bytes: ...
def level(
    prefix: bytes, hashes: Any, values: Any, pad: bytes, width: int, threads: int, /
) -> tuple[bytes, bytes]: ...
def level_sparse(
    prefix: bytes, hashes: Any, offsets: Any, assets: Any, units: Any, pad: bytes, width: int, threads: int, /
) -> tuple[bytes, bytes]: ...
