"""Reading a layout for the checker: any writer's GDSII or OASIS, judged as drawn.

The file is read with gdstk in µm. The hierarchy is kept as :class:`CellData`
(each cell's own shapes per layer, in its own coordinates, plus its placements of
other cells as affine transforms), so the engine can judge a repeated cell once, or
flatten. Boundaries, boxes and paths (every path type, with its extensions) become
polygons; a polygon carrying an OASIS repetition is expanded.

Before anything is expanded the reader proves the input is sane: the file starts
like GDSII or OASIS; its record structure is whole (:mod:`.gdsscan`, :mod:`.oasscan`);
gdstk reads it once in a forked child under time and memory limits (so that a crash
of the C parser is an error here); gdstk said nothing that means lost geometry; cell
names are unique, every referenced cell exists and there is no reference cycle; the
stored placements and polygons (repetitions counted, not expanded) are below a limit;
every placed coordinate is finite and within ±2^53 database units (boxes propagated
through the hierarchy); and the number of flat polygons (counted, not expanded) is
below a limit. Every failure is a :class:`LayoutReadError` with one clear line.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import gdstk
import numpy as np

from layoutgen.errors import LayoutReadError

#: refuse to flatten more than this many polygons (counted before expanding)
MAX_FLAT_POLYGONS = 60_000_000
#: refuse a file whose placements (array elements counted one by one) or whose own
#: polygons (repetitions counted one by one) are more than this; counted before the
#: repetitions are expanded
MAX_STORED = 16_000_000
#: placed coordinates must stay within this many database units of the origin (beyond,
#: a float64 µm coordinate no longer resolves one database unit)
MAX_COORD_DBU = 2.0**53
#: refuse files bigger than this
MAX_FILE_BYTES = 4 * 1024**3

GDS_MAGIC = b"\x00\x06\x00\x02"
OAS_MAGIC = b"%SEMI-OASIS\r\n"


@dataclass
class Placement:
    """Placements of one child cell: a batch of affine transforms.

    Attributes:
        child: the child cell's name.
        matrices: K×2×2 linear parts (rotation, mirror, magnification).
        offsets: K×2 translations, µm.
    """

    child: str
    matrices: np.ndarray
    offsets: np.ndarray

    @property
    def count(self) -> int:
        """Number of instances."""
        return len(self.offsets)

    @cached_property
    def one_matrix(self) -> np.ndarray | None:
        """The linear part (2×2) every instance shares, or None when they differ (a
        wafer's dies are all placed alike). Computed once: do not change ``matrices``
        after reading it."""
        m = self.matrices
        return m[0].copy() if len(m) and (m == m[0]).all() else None


@dataclass
class CellData:
    """One cell: its own shapes per (layer, datatype) and its placements.

    Attributes:
        name: cell name.
        shapes: (layer, datatype) -> list of N×2 point arrays (µm, own coordinates).
        placements: placements of child cells.
    """

    name: str
    shapes: dict[tuple[int, int], list[np.ndarray]] = field(default_factory=dict)
    placements: list[Placement] = field(default_factory=list)

    def own_count(self) -> int:
        """Number of own polygons."""
        return sum(len(v) for v in self.shapes.values())


@dataclass
class LayoutData:
    """A layout read from a file (or taken from gdstk cells).

    Attributes:
        cells: name -> CellData.
        tops: names of the top cells (referenced by no other cell), sorted.
        dbu: database unit, µm.
        source: the file read, or a description.
        notes: warnings the parser gave while reading.
    """

    cells: dict[str, CellData]
    tops: list[str]
    dbu: float
    source: str
    notes: list[str] = field(default_factory=list)

    def flat_count(self, name: str, memo: dict[str, int] | None = None) -> int:
        """Number of polygons ``name`` expands to, computed without expanding."""
        memo = {} if memo is None else memo
        order = topo_order(self.cells, [name])
        for n in reversed(order):
            c = self.cells[n]
            memo[n] = c.own_count() + sum(memo[p.child] * p.count for p in c.placements)
        return memo[name]


def _ref_transform(ref: gdstk.Reference) -> tuple[np.ndarray, np.ndarray]:
    """(2×2 matrix, K×2 offsets) of a gdstk reference, repetition expanded: every
    instance has the one matrix."""
    m = ref.magnification
    c, s = math.cos(ref.rotation), math.sin(ref.rotation)
    # a quarter turn is exact: cos(pi) = -1 with sin(pi) = 1.2e-16 would move every
    # point by ~1e-13 µm off the grid, and the two edges of a keyholed polygon's cut
    # would no longer meet (a closed ring judged open)
    if abs(c) < 1e-12:
        c, s = 0.0, math.copysign(1.0, s)
    elif abs(s) < 1e-12:
        c, s = math.copysign(1.0, c), 0.0
    c, s = c * m, s * m
    f = -1.0 if ref.x_reflection else 1.0  # (a mirror about x first, then the rotation)
    x, y = ref.origin
    mat = np.array([[c, -s * f], [s, c * f]])
    if not ref.repetition.size:  # the common case, without numpy's per-call overhead
        return mat, np.array([[x, y]], dtype=float)
    offs = np.array([x, y], dtype=float) + np.asarray(ref.repetition.get_offsets(), dtype=float)
    return mat, offs


def topo_order(cells: dict[str, CellData], roots: list[str]) -> list[str]:
    """Cells reachable from ``roots``, parents before children; raises on a cycle."""
    order: list[str] = []
    state: dict[str, int] = {}
    for root in roots:
        if state.get(root) == 2:
            continue
        stack: list[tuple[str, int]] = [(root, 0)]
        state[root] = 1
        while stack:
            name, i = stack[-1]
            kids = cells[name].placements
            if i < len(kids):
                stack[-1] = (name, i + 1)
                child = kids[i].child
                st = state.get(child, 0)
                if st == 1:
                    raise LayoutReadError(f"reference cycle: cell {child!r} contains itself "
                                          f"(through {name!r})")
                if st == 0:
                    state[child] = 1
                    stack.append((child, 0))
            else:
                stack.pop()
                state[name] = 2
                order.append(name)
    order.reverse()
    return order


#: the cell KLayout writes its library/PCell context into (not part of the layout)
CONTEXT_CELL = "$$$CONTEXT_INFO$$$"


def _polygons_of(obj: gdstk.Polygon, dbu: float) -> list[np.ndarray]:
    """The vertices of ``obj`` (and of its repetitions), µm, on the database grid.

    gdstk converts a file's integer coordinates to floats with rounding noise (an OASIS
    point list is summed up: 5e-14 µm off after 10,000 deltas). Snapped back onto the
    grid, the two sides of a keyhole's zero-width cut coincide again, as in the file,
    instead of leaving a slit that would open a ring; paths turned into polygons are
    rounded to the grid as KLayout does.
    """
    pts = np.round(np.asarray(obj.points, dtype=float) / dbu) * dbu
    if obj.repetition.size:
        offs = np.round(np.asarray(obj.repetition.get_offsets(), dtype=float) / dbu) * dbu
        return [pts + off for off in offs]
    return [pts]


def from_library(lib: gdstk.Library | list[gdstk.Cell], source: str, dbu: float) -> LayoutData:
    """Build :class:`LayoutData` from gdstk cells (read from a file or made in memory).

    Refuses (:class:`LayoutReadError`) two cells with one name, a reference to a missing
    cell, a reference cycle, a non-finite coordinate or transformation, more than
    :data:`MAX_STORED` placements or polygons (counted before repetitions are expanded)
    and placed coordinates beyond :data:`MAX_COORD_DBU` database units. Warnings gdstk
    gives while converting (an empty path...) become the layout's ``notes``.
    """
    gcells = list(lib.cells) if isinstance(lib, gdstk.Library) else list(lib)
    cells: dict[str, CellData] = {}
    names: set[str] = set()
    for c in gcells:
        if isinstance(c, gdstk.Cell):
            if c.name in names:
                raise LayoutReadError(f"{source}: duplicate cell name {c.name!r}: two cells "
                                      "have it")
            names.add(c.name)
    referenced: set[str] = set()
    stored = 0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for gc in gcells:
            if not isinstance(gc, gdstk.Cell):
                continue
            cd = CellData(gc.name)
            for obj in [*gc.polygons, *gc.paths]:
                stored += obj.repetition.size or 1
                if stored > MAX_STORED:
                    raise _too_many(source, "polygons")
                polys = obj.to_polygons() if isinstance(obj, (gdstk.FlexPath, gdstk.RobustPath)
                                                        ) else [obj]
                for poly in polys:
                    cd.shapes.setdefault((poly.layer, poly.datatype), []).extend(
                        _polygons_of(poly, dbu))
            grouped: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
            for ref in gc.references:
                child = ref.cell.name if isinstance(ref.cell, gdstk.Cell) else str(ref.cell)
                if child not in names:
                    raise LayoutReadError(f"{source}: cell {gc.name!r} references a missing "
                                          f"cell {child!r}")
                ox, oy = ref.origin
                if not (math.isfinite(ox) and math.isfinite(oy) and math.isfinite(ref.rotation)
                        and math.isfinite(ref.magnification)):
                    raise LayoutReadError(f"{source}: cell {gc.name!r} places {child!r} with a "
                                          "non-finite transformation")
                if not ref.magnification > 0:
                    raise LayoutReadError(f"{source}: cell {gc.name!r} places {child!r} with "
                                          f"magnification {ref.magnification!r}; it must be "
                                          "> 0")
                stored += ref.repetition.size or 1
                if stored > MAX_STORED:
                    raise _too_many(source, "placements")
                grouped.setdefault(child, []).append(_ref_transform(ref))
                referenced.add(child)
            for child in sorted(grouped):
                refs = grouped[child]
                offs = np.concatenate([o for _, o in refs]) if len(refs) > 1 else refs[0][1]
                first = refs[0][0]
                key = first.tolist()
                if all(m.tolist() == key for m, _ in refs):
                    placement = Placement(child, np.broadcast_to(first, (len(offs), 2, 2)).copy(),
                                          offs)
                    placement.one_matrix = first  # (known: not compared again)
                else:
                    placement = Placement(child, np.concatenate(
                        [np.broadcast_to(m, (len(o), 2, 2)) for m, o in refs]), offs)
                cd.placements.append(placement)
            cells[gc.name] = cd
    if CONTEXT_CELL in cells:
        # KLayout (and gdsfactory through it) stores library and PCell context in a cell
        # of this name that places the library cells at the origin; KLayout's own reader
        # drops it, and so does the checker (else those cells are judged at (0, 0)),
        # with the cells only it placed
        only_ctx = {p.child for p in cells.pop(CONTEXT_CELL).placements}
        while True:
            referenced = {p.child for cd in cells.values() for p in cd.placements}
            orphans = {n for n in only_ctx if n in cells and n not in referenced}
            if not orphans:
                break
            for n in orphans:
                only_ctx |= {p.child for p in cells.pop(n).placements}
    tops = sorted(n for n in cells if n not in referenced)
    if cells and not tops:
        raise LayoutReadError(f"{source}: reference cycle: every cell is placed inside another")
    data = LayoutData(cells, tops, dbu, source)
    order = topo_order(cells, tops)  # raises on cycles below the tops
    _check_extent(data, order)
    data.notes = sorted({str(w.message) for w in caught})
    return data


def _too_many(source: str, what: str) -> LayoutReadError:
    return LayoutReadError(f"{source}: more than {MAX_STORED} {what} (array elements and "
                           "repetitions counted one by one): over the reader's limit")


def _check_extent(data: LayoutData, order: list[str]) -> None:
    """Refuse a non-finite coordinate, and placed coordinates beyond
    :data:`MAX_COORD_DBU` database units; each cell's box is computed once, children
    first, from its children's boxes (nothing is expanded)."""
    limit = MAX_COORD_DBU * data.dbu
    boxes: dict[str, tuple[float, float, float, float] | None] = {}
    inf = math.inf
    for name in reversed(order):
        c = data.cells[name]
        x0 = y0 = inf
        x1 = y1 = -inf
        for pts_list in c.shapes.values():
            if not pts_list:
                continue
            pts = np.concatenate(pts_list) if len(pts_list) > 1 else pts_list[0]
            if not pts.size:
                continue
            lo, hi = pts.min(axis=0), pts.max(axis=0)
            if not (np.all(np.isfinite(lo)) and np.all(np.isfinite(hi))):
                raise LayoutReadError(f"{data.source}: cell {name!r} has a polygon with a "
                                      "non-finite coordinate")
            x0, y0 = min(x0, float(lo[0])), min(y0, float(lo[1]))
            x1, y1 = max(x1, float(hi[0])), max(y1, float(hi[1]))
        for p in c.placements:
            box = boxes.get(p.child)
            if box is None:
                continue
            cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
            hx, hy = (box[2] - box[0]) / 2, (box[3] - box[1]) / 2
            if p.count == 1:  # plain floats: a deep chain of single placements is fast
                (a, b), (d, e) = p.matrices[0].tolist()
                ox, oy = p.offsets[0].tolist()
                ax, ay = a * cx + b * cy + ox, d * cx + e * cy + oy
                ex, ey = abs(a) * hx + abs(b) * hy, abs(d) * hx + abs(e) * hy
                x0, y0 = min(x0, ax - ex), min(y0, ay - ey)
                x1, y1 = max(x1, ax + ex), max(y1, ay + ey)
                continue
            with np.errstate(all="ignore"):
                m = p.one_matrix
                if m is not None:  # one matrix: the offsets' span moves one box
                    at = m @ (cx, cy)
                    ext = np.abs(m) @ (hx, hy)
                    lo = p.offsets.min(axis=0) + at - ext
                    hi = p.offsets.max(axis=0) + at + ext
                else:
                    at = np.einsum("kij,j->ki", p.matrices, (cx, cy)) + p.offsets
                    ext = np.einsum("kij,j->ki", np.abs(p.matrices), (hx, hy))
                    lo, hi = (at - ext).min(axis=0), (at + ext).max(axis=0)
            x0, y0 = min(x0, float(lo[0])), min(y0, float(lo[1]))
            x1, y1 = max(x1, float(hi[0])), max(y1, float(hi[1]))
        if x0 > x1:
            boxes[name] = None
            continue
        reach = max(abs(x0), abs(y0), abs(x1), abs(y1))
        if not reach <= limit:  # (NaN too)
            raise LayoutReadError(
                f"{data.source}: cell {name!r} reaches coordinate {reach:.3g} µm, beyond "
                f"±2^53 database units ({limit:.3g} µm): out of range")
        boxes[name] = (x0, y0, x1, y1)


def _sniff(path: Path) -> str:
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise LayoutReadError(f"{path}: no such file") from None
    except OSError as exc:
        raise LayoutReadError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if path.is_dir():
        raise LayoutReadError(f"{path}: is a folder, not a layout file")
    if size == 0:
        raise LayoutReadError(f"{path}: empty file, not a GDSII or OASIS layout")
    if size > MAX_FILE_BYTES:
        raise LayoutReadError(f"{path}: {size} bytes is over the {MAX_FILE_BYTES} byte limit")
    try:
        with open(path, "rb") as fh:
            head = fh.read(16)
    except OSError as exc:
        raise LayoutReadError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if head.startswith(OAS_MAGIC):
        return "oas"
    if head[2:4] == GDS_MAGIC[2:4] and len(head) >= 6:
        return "gds"
    raise LayoutReadError(f"{path}: not a GDSII or OASIS file (unknown header bytes)")


#: seconds a trial read may take (a malformed file can send gdstk into a loop)...
PROBE_SECONDS = 15.0
#: ... plus this many per MiB of file (gdstk reads ~100 MiB/s; converting ~2 MiB/s)
PROBE_SECONDS_PER_MIB = 1.0
#: GDS files up to this size are also read once in a forked child first
PROBE_GDS_BYTES = 256 * 1024**2
#: address space a trial read may use, bytes
PROBE_MEMORY = 8 * 1024**3


def _probe(path: Path, kind: str, meanwhile: Callable[[], object] | None = None,
           scan: Callable[[Path], object] | None = None) -> None:
    """Read the file once in a forked child first, so that a crash, hang or runaway
    memory in the C parser on a malformed file becomes one clear error here.

    Args:
        path: the file.
        kind: ``gds`` or ``oas``.
        meanwhile: work for the parent while the child reads (e.g. importing what the
            caller needs next); it runs even where the child cannot be forked.
        scan: the strict structure validation, run by the child before it reads (its
            error becomes this function's); here when the child cannot be forked.
    """
    if not hasattr(os, "fork"):  # pragma: no cover - not on Linux
        if scan is not None:
            scan(path)
        if meanwhile is not None:
            meanwhile()
        return
    import gc
    import resource
    import select
    import signal

    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        code = 3
        try:
            # what the parent made stays out of this child's collections: a collection
            # touches every object it tracks, which copies each page of the parent's heap
            # (tens of milliseconds, seconds under a big caller such as a test session)
            gc.freeze()
            os.close(rfd)
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 2)
            soft, hard = resource.getrlimit(resource.RLIMIT_AS)
            cap = PROBE_MEMORY if hard == resource.RLIM_INFINITY else min(PROBE_MEMORY, hard)
            if soft == resource.RLIM_INFINITY or soft > cap:
                resource.setrlimit(resource.RLIMIT_AS, (cap, hard))  # never raise a limit
            if scan is not None:
                scan(path)
            reader = gdstk.read_oas if kind == "oas" else gdstk.read_gds
            lib = reader(str(path), unit=1e-6)
            # touch everything the main process will touch (a cell whose name record was
            # lost crashes on .name)
            from_library(lib, str(path), 1e-3)
            if kind == "oas" and not lib.cells and path.stat().st_size > 64:
                raise LayoutReadError(f"{path}: OASIS file holds no readable cell")
            del lib  # a corrupt library may crash when freed: let that happen here
            gc.collect()  # (only what this child made: the rest is frozen)
            code = 0
        except LayoutReadError as exc:
            os.write(wfd, str(exc).encode("utf-8", "replace")[:4000])
            code = 5
        except MemoryError:
            code = 4
        except BaseException:
            code = 3
        finally:
            os._exit(code)
    os.close(wfd)
    limit = PROBE_SECONDS + PROBE_SECONDS_PER_MIB * path.stat().st_size / 1024**2
    deadline = time.monotonic() + limit
    said_bytes = bytearray()
    try:
        if meanwhile is not None:
            meanwhile()
        # the child holds the pipe's write end until it exits (or dies): wait in poll()
        # for what it says and for the end of the pipe, then reap it; no sleeping, so
        # the parent goes on the moment the child is done. poll() returns early on a
        # signal whose handler raises (Ctrl-C, --timeout's SIGALRM)
        poller = select.poll()
        poller.register(rfd, select.POLLIN)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise LayoutReadError(f"{path}: reading took longer than {limit:.3g} "
                                      "s; the file looks malformed")
            if not poller.poll(math.ceil(left * 1000)):
                continue  # (the deadline is checked above)
            chunk = os.read(rfd, 1 << 16)
            if not chunk:
                break  # end of the pipe: the child has exited
            said_bytes += chunk
        delay = 0.0002
        while True:  # the exit is a few microseconds away from its pipe's end
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            if time.monotonic() > deadline:
                raise LayoutReadError(f"{path}: reading took longer than {limit:.3g} "
                                      "s; the file looks malformed")
            time.sleep(delay)
            delay = min(delay * 2, 0.05)
    except BaseException:  # too slow, or interrupted (--timeout, Ctrl-C): no child left
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        os.close(rfd)
        raise
    os.close(rfd)
    if os.WIFSIGNALED(status):
        raise LayoutReadError(f"{path}: malformed {kind.upper()} file (the parser crashed "
                              f"with signal {os.WTERMSIG(status)})")
    said = bytes(said_bytes).decode("utf-8", "replace")
    code = os.WEXITSTATUS(status)
    if code == 5 and said:
        raise LayoutReadError(said)
    if code == 4:
        raise LayoutReadError(f"{path}: reading needs more than "
                              f"{PROBE_MEMORY // 1024**3} GiB of memory")
    if code != 0:
        raise LayoutReadError(f"{path}: malformed {kind.upper()} file")


def read_layout(path: str | os.PathLike, meanwhile: Callable[[], object] | None = None
                ) -> LayoutData:
    """Read a GDSII or OASIS file (any writer) into :class:`LayoutData`, in µm.

    Args:
        path: the file.
        meanwhile: work to do while a forked child reads the file first (see
            ``_probe``), such as importing the checker; done before reading otherwise.

    Raises:
        LayoutReadError: missing, empty, malformed or hostile file, with one clear line.
    """
    path = Path(path)
    try:
        return _read_layout(path, meanwhile)
    except MemoryError:
        raise LayoutReadError(f"{path}: not enough memory to read the file") from None


#: what gdstk says on stderr while reading that does not mean a loss of geometry: records
#: it skips that hold none (GDSII NODE, ELFLAGS, PLEX, FONTS...; OASIS XNAME...)
BENIGN_NOTES = re.compile(r"\[GDSTK\] (Record type \S+ \(0x[0-9A-F]{2}\) is not supported"
                          r"|Record type X(NAME|ELEMENT|GEOMETRY) ignored)")


def _read_layout(path: Path, meanwhile: Callable[[], object] | None = None) -> LayoutData:
    kind = _sniff(path)
    if kind == "gds":
        from layoutgen.check.gdsscan import scan_gds as scan
    else:
        # the record stream ends with END, exactly at the end of the file
        from layoutgen.check.oasscan import scan_oasis as scan

    if kind == "oas" or path.stat().st_size <= PROBE_GDS_BYTES:
        # the sacrificial child validates the structure strictly, then reads; this
        # process goes on with the caller's work meanwhile, and reads after both
        _probe(path, kind, meanwhile, scan)
    else:
        scan(path)  # strict structural validation before gdstk reads the bytes
        if meanwhile is not None:
            meanwhile()
    try:
        with _captured_stderr() as notes, warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            if kind == "gds":
                lib = gdstk.read_gds(str(path), unit=1e-6)
            else:
                lib = gdstk.read_oas(str(path), unit=1e-6)
    except (RuntimeError, OSError, ValueError, TypeError, OverflowError) as exc:
        raise LayoutReadError(f"{path}: cannot read {kind.upper()} file: {exc}") from None
    reader_notes = sorted({str(w.message) for w in caught} | {
        line.strip() for line in notes.text.splitlines() if line.strip()})
    for note in reader_notes:
        if note.startswith("[GDSTK]") and not BENIGN_NOTES.match(note):
            # gdstk read on after something it could not read: geometry may be lost
            raise LayoutReadError(f"{path}: malformed {kind.upper()} file: the reader said: "
                                  f"{note.removeprefix('[GDSTK]').strip()}")
    if not (lib.precision and math.isfinite(lib.precision) and lib.precision > 0):
        raise LayoutReadError(f"{path}: bad database unit {lib.precision!r}")
    dbu = float(lib.precision) / 1e-6
    if not (dbu > 0 and math.isfinite(dbu)):
        raise LayoutReadError(f"{path}: bad database unit {lib.precision!r}")
    if kind == "oas":
        # gdstk cannot tell us everything that went wrong while reading OASIS; an
        # empty library from a non-trivial file means the file was not understood
        if not lib.cells and path.stat().st_size > 64:
            raise LayoutReadError(f"{path}: OASIS file holds no readable cell")
    data = from_library(lib, str(path), dbu)
    data.notes = sorted(set(reader_notes) | set(data.notes))
    return data


class _Captured:
    text = ""


@contextlib.contextmanager
def _captured_stderr():
    """Capture what C code writes to file descriptor 2 (gdstk's warnings)."""
    cap = _Captured()
    try:
        saved = os.dup(2)
    except OSError:  # pragma: no cover - no stderr at all
        yield cap
        return
    with tempfile.TemporaryFile() as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            yield cap
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            cap.text = tmp.read(1 << 16).decode("utf-8", "replace")


def from_cells(tops: gdstk.Cell | list[gdstk.Cell], dbu: float = 1e-3) -> LayoutData:
    """:class:`LayoutData` from gdstk cells in memory (all they reference included)."""
    if isinstance(tops, gdstk.Cell):
        tops = [tops]
    seen: dict[str, gdstk.Cell] = {}
    for t in tops:
        for c in [t, *t.dependencies(True)]:
            if isinstance(c, gdstk.Cell):
                seen.setdefault(c.name, c)
    return from_library(list(seen.values()), "<cells>", dbu)
