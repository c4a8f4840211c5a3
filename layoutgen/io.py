"""Deterministic, atomic GDS/OASIS output.

* The format follows the extension: ``.gds`` (GDSII) or ``.oas`` (OASIS).
* Same inputs, same bytes: a fixed GDS timestamp, a fixed library name, every
  referenced cell written once, cells sorted by name.
* Circles are not fractured needlessly: GDSII allows about 8190 vertices in one
  boundary (8191 points with the closing one), so polygons are split only above
  ``GDS_MAX_POINTS`` = 8189, not at gdstk's default of 199, which would cut every fine
  circle into pieces that a checker must merge again. 8189, not 8190: gdstk already
  warns that a boundary of 8190 vertices is outside the official specification.
* Atomic: the file is written to a temporary file in the same folder and renamed
  over the target, so a failure leaves the old file or none, never a partial one. A
  writer killed outright (SIGKILL) leaves its temporary ``.<name>.<pid>.<random>.tmp``,
  which the next write of that target removes.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import os
import stat
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

import gdstk

from layoutgen.errors import LayoutgenError
from layoutgen.naming import fingerprint

#: Most vertices written in one GDSII boundary; larger polygons are fractured. The
#: largest count gdstk writes without its "outside the GDSII specification" warning.
GDS_MAX_POINTS = 8189
#: Fixed timestamp written into every GDS file (so bytes do not depend on the clock).
FIXED_TIMESTAMP = _dt.datetime(2000, 1, 1, 0, 0, 0)
LIBRARY_NAME = "LAYOUTGEN"
UNIT = 1e-6  # user unit: 1 µm
PRECISION = 1e-9  # database unit: 1 nm
FORMATS = (".gds", ".oas")


def collect(tops: gdstk.Cell | Iterable[gdstk.Cell]) -> list[gdstk.Cell]:
    """Every cell reachable from ``tops``, once each, sorted by name.

    Raises:
        LayoutgenError: two different cells share a name (a cached cell was modified
            after it was made).
    """
    if isinstance(tops, gdstk.Cell):
        tops = [tops]
    by_name: dict[str, gdstk.Cell] = {}
    for top in tops:
        for c in [top, *top.dependencies(True)]:
            if not isinstance(c, gdstk.Cell):
                raise LayoutgenError(f"cell {top.name} references a missing cell {c!r}")
            other = by_name.get(c.name)
            if other is None:
                by_name[c.name] = c
            elif other is not c and fingerprint(other) != fingerprint(c):
                raise LayoutgenError(
                    f"two different cells are named {c.name}: a cached cell was modified after "
                    "it was made; copy it with .copy(new_name) before changing it"
                )
    return [by_name[n] for n in sorted(by_name)]


def library(tops: gdstk.Cell | Iterable[gdstk.Cell]) -> gdstk.Library:
    """A :class:`gdstk.Library` (µm units, 1 nm grid) holding ``tops`` and all they use."""
    lib = gdstk.Library(LIBRARY_NAME, unit=UNIT, precision=PRECISION)
    for c in collect(tops):
        lib.add(c)
    return lib


#: the process umask, read once (os.umask can only be read by setting it)
_UMASK = os.umask(0o022)
os.umask(_UMASK)


def _file_mode(path: Path) -> int:
    """Permissions for a new ``path``: those of the file it replaces, else 0666 & ~umask."""
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return 0o666 & ~_UMASK


def _temp_prefix(path: Path) -> str:
    """``.<name>.<pid>.``: how this process's temporary files for ``path`` begin."""
    return f".{path.name}.{os.getpid()}."


def _alive(pid: int) -> bool:
    """True when a process ``pid`` exists (or may: not ours to signal)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def remove_stale_temporaries(path: str | Path) -> list[Path]:
    """Remove the temporary files of ``path`` left by writers that no longer run.

    A process killed while writing (SIGKILL, power cut) cannot remove its temporary
    file ``.<name>.<pid>.<random>.tmp`` beside the target; the next write of the same
    target removes it (and any other of a dead writer). Temporaries of running
    writers are left alone.

    Returns:
        The files removed.
    """
    path = Path(path)
    removed = []
    head = f".{path.name}."
    try:
        entries = list(os.scandir(path.parent))
    except OSError:
        return removed
    for entry in entries:
        name = entry.name
        if not (name.startswith(head) and name.endswith(".tmp")):
            continue
        pid_text = name[len(head):].split(".", 1)[0]
        if pid_text.isdigit() and int(pid_text) != os.getpid() and not _alive(int(pid_text)):
            with contextlib.suppress(OSError):
                os.unlink(entry.path)
                removed.append(Path(entry.path))
    return removed


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it over ``path`` on success.

    On any exception the temporary file is removed and ``path`` is left untouched. The
    file gets ordinary permissions (not the private 0600 of a temporary file). The
    temporary file is ``.<name>.<pid>.<random>.tmp`` in the target's folder (a rename
    within one file system is atomic); one left by a killed writer is removed by the
    next write of the same target (:func:`remove_stale_temporaries`).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path)
    fd, tmp = tempfile.mkstemp(prefix=_temp_prefix(path), suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        with open(tmp_path, "rb") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp_path, _file_mode(path))
        os.replace(tmp_path, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise


def write_text(path: str | Path, text: str | Iterable[str]) -> Path:
    """Write a text file atomically (UTF-8, ``\\n`` line ends).

    Args:
        path: the file.
        text: its text, or pieces of it (written one after the other, so that a long
            text need not be held whole).
    """
    path = Path(path)
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8", newline="\n") as fh:
        if isinstance(text, str):
            fh.write(text)
        else:
            fh.writelines(text)
    return path


def write(tops: gdstk.Cell | Iterable[gdstk.Cell], path: str | Path) -> Path:
    """Write ``tops`` and every cell they reference to ``path``, atomically.

    Args:
        tops: the top cell or cells.
        path: output file; ``.gds`` for GDSII, ``.oas`` for OASIS.

    Returns:
        The path written.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise LayoutgenError(
            f"output {path}: extension must be .gds or .oas, got {suffix or 'none'!r}"
        )
    lib = library(tops)
    with atomic_path(path) as tmp:
        if suffix == ".gds":
            lib.write_gds(tmp, max_points=GDS_MAX_POINTS, timestamp=FIXED_TIMESTAMP)
        else:
            lib.write_oas(tmp, compression_level=6, detect_rectangles=True,
                          detect_trapezoids=True, circle_tolerance=0, validation="crc32")
    return path
