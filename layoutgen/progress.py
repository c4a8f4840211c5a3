"""A tiny progress bar for long work (wafer builds and checks, previews of big files).

Dependency-free. It draws on stderr, and only when stderr is a terminal and the user did
not ask for quiet; otherwise it is silent and costs almost nothing, so callers can wrap
every long loop unconditionally::

    from layoutgen.progress import progress

    for cell in progress(cells, total=len(cells), label="drawing", enabled=not quiet):
        ...

The bar is redrawn in place (``\\r``) at most ten times a second and finished with a
newline; it never writes to stdout, so piped output stays clean.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from typing import TextIO, TypeVar

__all__ = ["is_terminal", "progress"]

T = TypeVar("T")

#: seconds between two redraws of the bar
REFRESH = 0.1
#: characters of the bar itself
WIDTH = 30


def is_terminal(stream: TextIO | None = None) -> bool:
    """True when ``stream`` (default: stderr) is an interactive terminal."""
    stream = sys.stderr if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except (ValueError, OSError):  # a closed or detached stream
        return False


def _line(label: str, done: int, total: int | None, elapsed: float) -> str:
    """One rendering of the bar: ``label [#####.....]  12/40  30% 1.2 s``."""
    head = f"{label} " if label else ""
    if total:
        frac = min(max(done / total, 0.0), 1.0)
        filled = int(round(frac * WIDTH))
        bar = "#" * filled + "." * (WIDTH - filled)
        return f"{head}[{bar}] {done}/{total} {frac:4.0%} {elapsed:5.1f} s"
    return f"{head}{done} {elapsed:5.1f} s"


def progress(iterable: Iterable[T], total: int | None = None, label: str = "",
             enabled: bool = True, stream: TextIO | None = None) -> Iterator[T]:
    """Yield the items of ``iterable`` while drawing a progress bar on stderr.

    Args:
        iterable: the work items.
        total: number of items (default: ``len(iterable)`` when it has one); without it
            the bar shows a running count.
        label: what is being done, shown before the bar (``drawing cells``).
        enabled: False (``--quiet``) keeps it silent.
        stream: where to draw (default ``sys.stderr``); nothing is drawn unless it is a
            terminal.

    Yields:
        The items of ``iterable``, unchanged.
    """
    out = sys.stderr if stream is None else stream
    if not enabled or not is_terminal(out):
        yield from iterable
        return
    if total is None:
        try:
            total = len(iterable)  # type: ignore[arg-type]
        except TypeError:
            total = None
    start = time.monotonic()
    last = -1.0
    done = 0
    width = 0

    def draw(final: bool = False) -> None:
        nonlocal width
        text = _line(label, done, total, time.monotonic() - start)
        pad = " " * max(0, width - len(text))
        width = len(text)
        out.write("\r" + text + pad + ("\n" if final else ""))
        out.flush()

    try:
        for item in iterable:
            now = time.monotonic()
            if now - last >= REFRESH:
                last = now
                draw()
            yield item
            done += 1
    finally:
        draw(final=True)
