"""The reader's forked probe (``layoutgen.check.reader._probe``): whatever the child
does — reads the file, crashes, hangs, runs out of memory, refuses the file — the parent
learns it at once and leaves no child behind, also when it is interrupted.

The parent waits for the child in ``poll()`` on a pipe whose write end only the child
holds, not by sleeping: these tests replace ``gdstk.read_gds`` in this process, and the
forked child inherits the replacement.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import gdstk
import pytest

from layoutgen.check import reader
from layoutgen.errors import LayoutReadError


@pytest.fixture
def gds(tmp_path: Path) -> Path:
    top = gdstk.Cell("TOP")
    top.add(gdstk.rectangle((0, 0), (10, 10), layer=1))
    lib = gdstk.Library()
    lib.add(top)
    path = tmp_path / "small.gds"
    lib.write_gds(str(path))
    return path


def no_child_left() -> None:
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)


def test_a_good_file_passes_and_is_read(gds: Path) -> None:
    reader._probe(gds, "gds")
    no_child_left()
    data = reader.read_layout(gds)
    assert data.tops == ["TOP"]
    no_child_left()


def test_the_parent_goes_on_as_soon_as_the_child_is_done(
        gds: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The parent waits without polling: it does not sleep while the child reads (the
    polling parent slept about 8 times in 0.12 s and noticed the end up to 50 ms late)
    and returns within milliseconds of the child's exit (which the child writes into a
    file: the monotonic clock is the system's)."""
    stamp = tmp_path / "exit_time"
    real_exit, real_sleep, parent = os._exit, time.sleep, os.getpid()
    sleeps = []

    def timed_exit(code: int) -> None:
        stamp.write_text(repr(time.monotonic()))
        real_exit(code)

    def counted_sleep(seconds: float) -> None:
        if os.getpid() == parent:
            sleeps.append(seconds)
        real_sleep(seconds)

    monkeypatch.setattr(os, "_exit", timed_exit)
    monkeypatch.setattr(time, "sleep", counted_sleep)
    read = gdstk.read_gds  # a child that takes a while
    monkeypatch.setattr(gdstk, "read_gds", lambda *a, **k: (real_sleep(0.12), read(*a, **k))[1])
    lags = []
    for _ in range(5):
        reader._probe(gds, "gds")
        lags.append(time.monotonic() - float(stamp.read_text()))
    no_child_left()
    # (a sleep or two of 0.2 ms when the parent sees the pipe's end before the exit)
    assert len(sleeps) <= 5 * 2 and sum(sleeps) < 0.01, sleeps
    assert min(lags) < 0.03, lags


def test_a_crash_is_one_clear_error(gds: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gdstk, "read_gds", lambda *a, **k: os.kill(os.getpid(),
                                                                    signal.SIGSEGV))
    with pytest.raises(LayoutReadError, match=r"the parser crashed with signal 11"):
        reader._probe(gds, "gds")
    no_child_left()


def test_the_childs_refusal_is_passed_on(gds: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    message = "custom refusal: é " + "x" * 3000

    def refuse(*a, **k):
        raise LayoutReadError(message)

    monkeypatch.setattr(gdstk, "read_gds", refuse)
    with pytest.raises(LayoutReadError) as info:
        reader._probe(gds, "gds")
    assert str(info.value) == message
    no_child_left()


def test_memory_error_and_other_failures(gds: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def out_of_memory(*a, **k):
        raise MemoryError

    monkeypatch.setattr(gdstk, "read_gds", out_of_memory)
    with pytest.raises(LayoutReadError, match=r"reading needs more than 8 GiB of memory"):
        reader._probe(gds, "gds")
    monkeypatch.setattr(gdstk, "read_gds", lambda *a, **k: 1 / 0)
    with pytest.raises(LayoutReadError, match=r"malformed GDS file$"):
        reader._probe(gds, "gds")
    no_child_left()


def test_a_hang_times_out_and_the_child_is_killed(gds: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reader, "PROBE_SECONDS", 0.3)
    monkeypatch.setattr(reader, "PROBE_SECONDS_PER_MIB", 0.0)
    monkeypatch.setattr(gdstk, "read_gds", lambda *a, **k: time.sleep(60))
    t0 = time.monotonic()
    with pytest.raises(LayoutReadError, match=r"reading took longer than 0.3 s"):
        reader._probe(gds, "gds")
    assert 0.25 < time.monotonic() - t0 < 5
    no_child_left()


def test_a_child_that_closes_its_pipe_early_still_times_out(
        gds: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Even a child that closed every file before hanging is waited for only until the
    deadline."""
    monkeypatch.setattr(reader, "PROBE_SECONDS", 0.3)
    monkeypatch.setattr(reader, "PROBE_SECONDS_PER_MIB", 0.0)

    def close_and_hang(*a, **k):
        os.closerange(3, 1024)
        time.sleep(60)

    monkeypatch.setattr(gdstk, "read_gds", close_and_hang)
    with pytest.raises(LayoutReadError, match=r"reading took longer than 0.3 s"):
        reader._probe(gds, "gds")
    no_child_left()


@pytest.mark.parametrize("exc", [KeyboardInterrupt, TimeoutError])
def test_an_interrupt_ends_the_wait_and_the_child(gds: Path, monkeypatch: pytest.MonkeyPatch,
                                                  exc: type[BaseException]) -> None:
    """Ctrl-C, or the SIGALRM of ``layoutgen check --timeout``, while the child reads:
    the wait ends at once, the child is killed and reaped, the exception goes on."""
    monkeypatch.setattr(gdstk, "read_gds", lambda *a, **k: time.sleep(60))

    def interrupt(signum, frame):
        raise exc

    old = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, 0.3)
    t0 = time.monotonic()
    try:
        with pytest.raises(exc):
            reader._probe(gds, "gds")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    assert time.monotonic() - t0 < 5
    no_child_left()


def test_meanwhile_runs_while_the_child_reads(gds: Path, monkeypatch) -> None:
    """read_layout(meanwhile=...) runs the caller's work (the CLI imports the checker)
    while the child is still reading: the child's read is slowed here, and the work
    sees it alive. A failure of that work leaves no child behind."""
    slow = gdstk.read_gds

    def read_slowly(*a, **k):
        time.sleep(0.3)
        return slow(*a, **k)

    seen = []

    def work() -> None:
        done, _ = os.waitpid(-1, os.WNOHANG)
        seen.append(done)  # 0: a child exists and is still running

    monkeypatch.setattr(reader.gdstk, "read_gds", read_slowly)
    data = reader.read_layout(gds, meanwhile=work)
    assert seen == [0] and data.tops == ["TOP"]
    no_child_left()

    def fail() -> None:
        raise RuntimeError("import failed")

    with pytest.raises(RuntimeError, match="import failed"):
        reader.read_layout(gds, meanwhile=fail)
    no_child_left()


def test_a_bad_structure_is_named_by_the_scan_while_the_child_reads(tmp_path: Path) -> None:
    """The strict scan runs in the parent while the child reads: its message wins."""
    bad = tmp_path / "bad.gds"
    good = tmp_path / "good.gds"
    top = gdstk.Cell("TOP")
    top.add(gdstk.rectangle((0, 0), (10, 10), layer=1))
    lib = gdstk.Library()
    lib.add(top)
    lib.write_gds(str(good))
    data = good.read_bytes()
    bad.write_bytes(data[:-4])  # ENDLIB cut off
    with pytest.raises(LayoutReadError) as exc:
        reader.read_layout(bad)
    assert str(exc.value) == f"{bad}: truncated GDSII file: no ENDLIB record"
    no_child_left()


def test_the_child_validates_before_it_reads(gds: Path, monkeypatch) -> None:
    """The strict scan runs in the forked child, before gdstk reads there; this process
    neither scans nor reads until the child has said the file is sound (a file the scan
    refuses is refused with the scan's words: test above)."""
    from layoutgen.check import gdsscan

    here = os.getpid()
    scans: list[int] = []
    reads: list[int] = []
    real_scan, real_read = gdsscan.scan_gds, gdstk.read_gds

    def scan(path):
        scans.append(os.getpid())
        return real_scan(path)

    def read(*a, **k):
        reads.append(os.getpid())
        return real_read(*a, **k)

    monkeypatch.setattr(gdsscan, "scan_gds", scan)
    monkeypatch.setattr(reader.gdstk, "read_gds", read)
    data = reader.read_layout(gds)
    assert data.tops == ["TOP"]
    assert scans == []  # the child's list is the child's: nothing scanned here
    assert reads == [here]  # one read here, after the child's
    no_child_left()
