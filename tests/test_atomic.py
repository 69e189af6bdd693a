"""The atomic folder writer: a kill at any instant leaves the old folder whole or the new one whole."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from caspr import atomic
from caspr.atomic import atomic_folder

FILES = 200

WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from caspr.atomic import atomic_folder

    out, files, start = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    version = start
    while True:
        with atomic_folder(out) as work:
            for i in range(files):
                (work / f"part-{i:04d}.txt").write_text(f"{version}\\n" * 200)
            (work / "manifest.txt").write_text(f"{version} {files}\\n")
        version += 1
        if version == start + 1:
            print("first", flush=True)
    """
)


def whole_version(out: Path) -> int:
    """The version of ``out`` if every file is there and of one version; fails otherwise."""
    assert out.is_dir(), "the output folder is gone"
    version, files = map(int, (out / "manifest.txt").read_text().split())
    parts = sorted(p for p in out.iterdir() if p.name.startswith("part-"))
    assert len(parts) == files
    assert {p.read_text() for p in parts} == {f"{version}\n" * 200}
    return version


def test_a_kill_at_any_moment_leaves_one_whole_folder(tmp_path):
    # A writer replaces OUT again and again; it is SIGKILLed at random instants. Each time OUT must
    # be whole: the old version or the new one, never missing or mixed (a stress test; the exact
    # instants between two file-system steps are covered by the test below).
    out = tmp_path / "out"
    with atomic_folder(out) as work:  # version 0, whole
        for i in range(FILES):
            (work / f"part-{i:04d}.txt").write_text("0\n" * 200)
        (work / "manifest.txt").write_text(f"0 {FILES}\n")
    rng = random.Random(2026)
    seen = 0
    for kill in range(6):
        child = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(out), str(FILES), str(1000 * (kill + 1))],
            stdout=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src")},
        )
        assert child.stdout is not None
        assert child.stdout.readline() == b"first\n"  # one whole version written, now mid-way in the next
        time.sleep(rng.uniform(0, 0.3))
        child.send_signal(signal.SIGKILL)
        child.wait()
        version = whole_version(out)
        assert version >= 1000 * (kill + 1)  # the new folder replaced the old
        seen = max(seen, version)
    assert seen > 0


def test_an_error_leaves_the_old_folder_and_no_work_folder(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.txt").write_text("old")

    def fail_midway() -> None:
        with atomic_folder(out) as work:
            (work / "new.txt").write_text("new")
            raise RuntimeError

    with pytest.raises(RuntimeError):
        fail_midway()
    assert [p.name for p in tmp_path.iterdir()] == ["out"]
    assert [p.name for p in out.iterdir()] == ["old.txt"]


def test_without_an_atomic_exchange_the_old_folder_is_set_aside_then_deleted(tmp_path, monkeypatch):
    monkeypatch.setattr(atomic, "exchange", lambda a, b: False)
    out = tmp_path / "out"
    for text in ("one", "two"):
        with atomic_folder(out) as work:
            (work / "f.txt").write_text(text)
    assert (out / "f.txt").read_text() == "two"
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # nothing left aside


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="renameat2 is Linux's")
def test_exchange_swaps_two_folders(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "x").write_text("a")
    (b / "x").write_text("b")
    assert atomic.exchange(a, b)
    assert ((a / "x").read_text(), (b / "x").read_text()) == ("b", "a")


CRASHER = textwrap.dedent(
    """
    import os, shutil, signal, sys
    from pathlib import Path
    from caspr import atomic

    out, after, fallback = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "1"
    calls = 0

    def step(function):
        def wrapped(*args, **kwargs):
            global calls
            result = function(*args, **kwargs)
            calls += 1
            if calls == after:
                os.kill(os.getpid(), signal.SIGKILL)
            return result
        return wrapped

    os.replace = step(os.replace)
    shutil.rmtree = step(shutil.rmtree)
    atomic.exchange = step(lambda a, b: False) if fallback else step(atomic.exchange)
    with atomic.atomic_folder(out) as work:
        (work / "f.txt").write_text("new")
    """
)


@pytest.mark.parametrize("fallback", [False, True], ids=["renameat2", "set-aside"])
@pytest.mark.parametrize("after", [1, 2, 3])
def test_a_kill_between_any_two_steps_of_the_swap_leaves_one_whole_folder(tmp_path, after, fallback):
    # The writer SIGKILLs itself right after its 1st, 2nd or 3rd file-system step (rename, exchange,
    # delete). OUT must then hold the old file or the new one (after recovery, on the set-aside path).
    # Planted bug: the old writers' "shutil.rmtree(out); os.replace(work, out)" fails at after=1
    # (OUT deleted, the new folder not yet moved in: both lost).
    out = tmp_path / "out"
    out.mkdir()
    (out / "f.txt").write_text("old")
    child = subprocess.run(
        [sys.executable, "-c", CRASHER, str(out), str(after), "1" if fallback else "0"],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src")},
        check=False,
    )
    assert child.returncode in (0, -signal.SIGKILL)
    atomic.recover(out)
    assert (out / "f.txt").read_text() in ("old", "new")
