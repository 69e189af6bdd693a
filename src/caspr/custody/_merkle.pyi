"""Type stub of the C extension built from _merkle.c (see caspr.custody.kernels)."""

from typing import Any

def ids(offsets: Any, data: Any, threads: int, /) -> bytes: ...
def scale(asset: Any, exponent: Any, amounts: Any, threads: int, /) -> bytes: ...
def random(size: int, threads: int, /) -> bytes: ...
def shuffle(n: int, /) -> bytes: ...
def gather(
    order: Any, offsets: Any, assets: Any, units: Any, threads: int, /
) -> tuple[bytes, bytes, bytes]: ...
def take(order: Any, rows: Any, size: int, threads: int, /) -> bytes: ...
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
    /,
) -> tuple[bytes, bytes]: ...
