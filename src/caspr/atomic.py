"""Output folders replaced atomically: a reader (or a crash) sees the old folder whole or the new one.

Every command that writes a folder (``distribute``, ``incident``, ``generate``, ``por build``)
writes into a fresh sibling folder and swaps it in only once every file is written and
flushed. Issue #16: writers deleted the old folder before moving the new one in, so a kill
between the two lost both.

The swap:

* no folder at ``out`` yet: one ``rename`` (atomic on POSIX);
* a folder already there, on Linux: ``renameat2(RENAME_EXCHANGE)`` exchanges the two folders in
  one step (Linux 3.15+, glibc 2.28+; ``man 2 renameat2``), then the old one is deleted;
* elsewhere (or when the filesystem refuses the exchange): the old folder is first moved aside
  into a hidden sibling ``.NAME.replaced.*`` and deleted only once the new one is in place, so
  a crash in that instant leaves the old folder whole in the hidden sibling, and the next
  writer (:func:`recover`) puts it back first.

A writer killed before the swap leaves a hidden ``.NAME.*`` work folder beside ``out`` and
``out`` untouched.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

RENAME_EXCHANGE = 2
"""``renameat2`` flag: exchange the two paths atomically (linux/fs.h)."""
AT_FDCWD = -100


def _renameat2() -> Callable[[int, bytes, int, bytes, int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        function = libc.renameat2
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    function.restype = ctypes.c_int
    return function


_RENAMEAT2 = _renameat2()


def exchange(a: Path, b: Path) -> bool:
    """Swap the two existing paths ``a`` and ``b`` in one atomic step; False when not supported."""
    if _RENAMEAT2 is None:
        return False
    status = _RENAMEAT2(AT_FDCWD, os.fsencode(a), AT_FDCWD, os.fsencode(b), RENAME_EXCHANGE)
    return status == 0


def _sync_tree(folder: Path) -> None:
    """Flush every file of ``folder`` and the folders themselves to disk before the swap."""
    for root, _, files in os.walk(folder):
        for name in files:
            fd = os.open(Path(root) / name, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        _sync_dir(Path(root))


def _sync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):  # some filesystems cannot fsync a directory
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def swap_in(work: Path, out: Path) -> None:
    """Put the finished folder ``work`` at ``out``; the old ``out`` (if any) is deleted after."""
    _sync_tree(work)
    if not out.exists():
        os.replace(work, out)
        _sync_dir(out.parent)
        return
    if exchange(work, out):  # out is now the new folder; work holds the old one
        _sync_dir(out.parent)
        shutil.rmtree(work, ignore_errors=True)
        return
    aside = Path(tempfile.mkdtemp(prefix=f".{out.name}.replaced.", dir=out.parent))
    os.replace(out, aside / out.name)
    os.replace(work, out)
    _sync_dir(out.parent)
    shutil.rmtree(aside, ignore_errors=True)


def recover(out: Path) -> bool:
    """Put back a folder set aside by a writer killed mid-swap (the fallback path); True if it did."""
    if out.exists():
        return False
    for aside in sorted(out.parent.glob(f".{out.name}.replaced.*")):
        if (aside / out.name).is_dir():
            os.replace(aside / out.name, out)
            shutil.rmtree(aside, ignore_errors=True)
            _sync_dir(out.parent)
            return True
    return False


@contextlib.contextmanager
def atomic_folder(out: Path) -> Iterator[Path]:
    """Yield an empty work folder beside ``out``; on success it replaces ``out``, on error it goes.

    Example::

        with atomic_folder(out) as work:
            (work / "summary.json").write_text(...)
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    recover(out)
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        yield work
        swap_in(work, out)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
