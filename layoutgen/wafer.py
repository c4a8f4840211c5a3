"""Assembly of dies into a wafer: grid placement, wafer outline, wafer map.

Shared by every wafer product. The die cell is placed by repetition: one GDS array
reference (AREF) per row of whole dies, so the file grows with the number of rows,
not of dies.

Coordinates: the wafer centre is the origin; the notch is at 6 o'clock (-Y).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import gdstk
import numpy as np

from layoutgen.errors import ParameterError
from layoutgen.geometry import circle_points, snap
from layoutgen.spec import Param

#: offsets tried for the die grid, as fractions of the step: (0, 0) puts a die's
#: centre on the wafer centre; (0.5, 0.5) puts a die corner (a lane crossing) there.
GRID_OFFSETS: dict[str, tuple[float, float]] = {
    "die": (0.0, 0.0),
    "corner": (0.5, 0.5),
    "edge_x": (0.5, 0.0),
    "edge_y": (0.0, 0.5),
}



def wafer_params(diameter: float, dies: str) -> tuple[Param, ...]:
    """The ``wafer.*`` parameters every wafer product declares.

    Args:
        diameter: default wafer diameter, mm.
        dies: what ``wafer.min_dies`` counts (``whole dies``, ``product dies``).
    """
    return (
        Param("wafer.diameter", diameter, "wafer diameter", unit="mm", low=25, high=450),
        Param("wafer.edge_exclusion", 3.0, "unusable ring at the wafer edge; whole dies lie "
              "inside the usable circle", unit="mm", low=0),
        Param("wafer.notch_depth", 1.0, "depth of the orientation notch at 6 o'clock",
              unit="mm", low=0, low_open=True, high=5),
        Param("wafer.grid_offset", "auto", "die grid offset: auto (the most whole dies) or "
              "die, corner, edge_x, edge_y (what sits on the wafer centre)", unit="",
              choices=("auto", *GRID_OFFSETS)),
        Param("wafer.min_dies", 1, f"fewest {dies} the wafer must hold", unit="", low=1),
    )


def wafer_dims(spec: Mapping[str, Any]) -> tuple[float, float, float]:
    """Diameter, edge exclusion and notch depth (µm) of the ``wafer.*`` values of a spec
    (given in mm, see :func:`wafer_params`).

    Raises:
        ParameterError: the edge exclusion reaches the wafer's centre.
    """
    diameter = spec["wafer.diameter"] * 1000.0
    exclusion = spec["wafer.edge_exclusion"] * 1000.0
    if exclusion >= diameter / 2:
        allowed = f">= 0 and < {diameter / 2000:g} mm (the wafer's radius)"
        raise ParameterError("wafer.edge_exclusion", f"must be {allowed}, got "
                             f"{spec['wafer.edge_exclusion']:g}", spec["wafer.edge_exclusion"],
                             allowed)
    return diameter, exclusion, spec["wafer.notch_depth"] * 1000.0

@dataclass(frozen=True)
class WaferGrid:
    """Where the whole dies of a wafer are.

    Attributes:
        centers: die centres, N×2 µm, sorted by row (y descending) then x.
        rows: row index of each die (0 = top row).
        cols: column index of each die (0 = leftmost column of the grid).
        offset: which grid offset was chosen (a key of GRID_OFFSETS).
        counts: whole-die count of every offset tried.
        step: (x, y) step, µm.
        die: (width, height) of the die, µm.
        usable_radius: radius of the usable circle, µm.
    """

    centers: np.ndarray
    rows: np.ndarray
    cols: np.ndarray
    offset: str
    counts: dict[str, int]
    step: tuple[float, float]
    die: tuple[float, float]
    usable_radius: float

    @property
    def count(self) -> int:
        """Number of whole dies."""
        return len(self.centers)


def _whole(offset: tuple[float, float], radius: float, die: tuple[float, float],
           step: tuple[float, float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Which grid sites hold a whole die, for one offset.

    Returns:
        ``ok`` (one row per grid row, ascending y; one column per grid column, ascending
        x), and the grid indices of its rows and of its columns.
    """
    sx, sy = step
    hw, hh = die[0] / 2, die[1] / 2
    nx = int(math.ceil(radius / sx)) + 2
    ny = int(math.ceil(radius / sy)) + 2
    ix = np.arange(-nx, nx + 1)
    iy = np.arange(-ny, ny + 1)
    # whole die: its farthest corner inside the usable circle (the same float
    # operations per site as over a full mesh, with the squares computed per row and
    # per column)
    fx = np.abs((ix + offset[0]) * sx) + hw
    fy = np.abs((iy + offset[1]) * sy) + hh
    ok = (fy * fy)[:, None] + (fx * fx)[None, :] <= radius * radius
    return ok, iy, ix


def die_grid(wafer_diameter: float, edge_exclusion: float, die: tuple[float, float],
             step: tuple[float, float], offset: str = "auto") -> WaferGrid:
    """Place whole dies on a wafer, maximising their number.

    Args:
        wafer_diameter: wafer diameter, µm.
        edge_exclusion: width of the unusable ring at the wafer edge, µm.
        die: die (width, height), µm; a die is whole when it lies inside the usable circle.
        step: grid step (x, y), µm, both > 0: die size plus scribe lane width.
        offset: ``auto`` (the offset of GRID_OFFSETS with the most dies; ties go to the
            first listed) or one of its keys.

    Raises:
        ValueError: a step is not > 0.
    """
    if not (step[0] > 0 and step[1] > 0):
        raise ValueError(f"die grid step must be > 0 µm, got {step}")
    radius = wafer_diameter / 2 - edge_exclusion
    counts: dict[str, int] = {}
    results = {}
    names = list(GRID_OFFSETS) if offset == "auto" else [offset]
    for name in names:
        results[name] = _whole(GRID_OFFSETS[name], radius, die, step)
        counts[name] = int(np.count_nonzero(results[name][0]))
    best = max(names, key=lambda n: (counts[n], -names.index(n)))
    ok, iy, ix = results[best]
    # rows top (largest y) first, each row left to right: the grid rows reversed (the
    # steps are > 0, so y grows with the row index and x with the column index)
    ok, iy = ok[::-1], iy[::-1]
    r, c = np.nonzero(ok)
    ox, oy = GRID_OFFSETS[best]
    # snapped once per grid column and per grid row (snapping is elementwise)
    centers = np.empty((len(r), 2))
    centers[:, 0] = snap((ix + ox) * step[0])[c]
    centers[:, 1] = snap((iy + oy) * step[1])[r]
    if len(r):  # row 0: the top row with a die; column 0: the leftmost column with one
        rows = (iy[r[0]] - iy).astype(int)[r]
        cols = (ix - ix[c.min()]).astype(int)[c]
    else:
        rows = cols = np.zeros(0, dtype=int)
    return WaferGrid(centers, rows, cols, best, counts, step, die, radius)


def die_runs(grid: WaferGrid) -> list[tuple[float, float, int]]:
    """The runs of consecutive columns within the rows of ``grid``, as
    :func:`place_dies` places them (rows ascending, each row's dies in grid order).

    Returns:
        ``(x, y, n)`` of each run: the centre of its first die (y: of its row's first
        die), µm, and its number of dies.
    """
    rows, cols = np.asarray(grid.rows), np.asarray(grid.cols)
    centers = np.asarray(grid.centers)
    if not len(rows):
        return []
    drow = np.diff(rows)
    if not (drow >= 0).all():  # (die_grid's rows are in order already)
        order = np.argsort(rows, kind="stable")
        rows, cols, centers = rows[order], cols[order], centers[order]
        drow = np.diff(rows)
    new_row = np.concatenate(([True], drow != 0))
    starts = np.flatnonzero(new_row | np.concatenate(([True], np.diff(cols) != 1)))
    row_first = np.flatnonzero(new_row)[np.cumsum(new_row)[starts] - 1]
    return list(zip(centers[starts, 0].tolist(), centers[row_first, 1].tolist(),
                    np.diff(np.append(starts, len(rows))).tolist(), strict=True))


def place_dies(top: gdstk.Cell, die_cell: gdstk.Cell, grid: WaferGrid,
               die_origin: tuple[float, float] = (0.0, 0.0),
               runs: list[tuple[float, float, int]] | None = None) -> int:
    """Reference ``die_cell`` at every whole die of ``grid``: one array per run of
    consecutive columns in a row (one per row unless the row has gaps).

    Args:
        top: the wafer cell that receives the references.
        die_cell: the die cell.
        grid: the grid from :func:`die_grid`.
        die_origin: where the die's centre is in the die cell's coordinates, µm.
        runs: ``die_runs(grid)``, when known already (a grid placed more than once).

    Returns:
        The number of references added.
    """
    sx = grid.step[0]
    ox, oy = die_origin
    refs = []
    for x, y, size in die_runs(grid) if runs is None else runs:
        ref = gdstk.Reference(die_cell, (x - ox, y - oy))
        if size > 1:
            ref.repetition = gdstk.Repetition(columns=size, rows=1, spacing=(sx, 0))
        refs.append(ref)
    top.add(*refs)
    return len(refs)


def wafer_outline(diameter: float, edge_exclusion: float, notch_depth: float = 1000.0,
                  notch_angle: float = 90.0, layer: int = 99, datatype: int = 0,
                  tolerance: float = 1.0) -> list[gdstk.Polygon]:
    """The wafer outline with its notch at -Y, and the usable circle, as polygons.

    Args:
        diameter: wafer diameter, µm.
        edge_exclusion: unusable edge ring width, µm.
        notch_depth: notch depth, µm (SEMI: about 1 mm).
        notch_angle: notch opening angle, degrees (SEMI: 90).
        layer, datatype: GDS layer of the outlines.
        tolerance: chord error of the circles, µm.
    """
    r = diameter / 2
    outer = gdstk.Polygon(circle_points(r, tolerance=tolerance))
    half = notch_depth * math.tan(math.radians(notch_angle / 2))
    notch = gdstk.Polygon(snap([(-half, -r - 1), (half, -r - 1), (0, -r + notch_depth)]))
    wafer = gdstk.boolean(outer, notch, "not", layer=layer, datatype=datatype)
    # the outline as a thin band, so the usable area inside stays visible
    band = gdstk.offset(wafer, -max(50.0, diameter * 2e-4), join="miter")
    ring = gdstk.boolean(wafer, band, "not", layer=layer, datatype=datatype)
    usable_r = r - edge_exclusion
    usable = gdstk.Polygon(circle_points(usable_r, tolerance=tolerance))
    uband = gdstk.Polygon(circle_points(usable_r - max(20.0, diameter * 1e-4), tolerance=tolerance))
    uring = gdstk.boolean(usable, uband, "not", layer=layer, datatype=datatype)
    return [gdstk.Polygon(snap(p.points), layer=layer, datatype=datatype) for p in ring + uring]


def _arrays(grid: WaferGrid) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Rows and columns (int64) and x and y (float64, µm) of every die.

    Raises:
        ValueError: rows, columns and centres differ in length.
    """
    centers = np.asarray(grid.centers, dtype=float).reshape(-1, 2)
    rows = np.asarray(grid.rows).astype(np.int64, copy=False)
    cols = np.asarray(grid.cols).astype(np.int64, copy=False)
    if not len(rows) == len(cols) == len(centers):
        raise ValueError(f"wafer grid: {len(rows)} rows, {len(cols)} columns and "
                         f"{len(centers)} centres")
    return rows, cols, np.ascontiguousarray(centers[:, 0]), np.ascontiguousarray(centers[:, 1])


def _columns(grid: WaferGrid) -> tuple[list[int], list[int], list[float], list[float]]:
    """Rows, columns, x and y of every die as Python ints and floats (what ``int()`` and
    ``float()`` give for each element), without a Python call per die.

    Raises:
        ValueError: rows, columns and centres differ in length.
    """
    rows, cols, xs, ys = _arrays(grid)
    return rows.tolist(), cols.tolist(), xs.tolist(), ys.tolist()


def wafer_map_rows(grid: WaferGrid) -> list[dict]:
    """One dict per die: index, row, col, x and y of its centre (µm)."""
    rows, cols, xs, ys = _columns(grid)
    return [{"index": i, "row": r, "col": c, "x": x, "y": y}
            for i, (r, c, x, y) in enumerate(zip(rows, cols, xs, ys, strict=True))]


# ----------------------------------------------------------------------------- die lines
# A wafer map has one formatted line per die. ``"".join(template % die for die in dies)``
# costs about 1 µs per die; :func:`_format_lines` gives the same text from whole columns:
# each die's line is laid out in one row of a byte matrix (the template's fixed text,
# then every field at its widest, padded with NUL bytes), and dropping the NULs leaves
# the lines back to back. The matrix holds one block of dies at a time: its fixed text
# is written once, and its memory is reused rather than fresh pages for every die.

#: dies per block of :func:`_format_lines` (a block of JSON lines is about 400 kB)
_BLOCK = 4096


def _int_field(values: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """``"%d" % v`` of every int64 ``v`` (n >= 1 of them) as texts and which text each
    value has, like :func:`_float_field`: when the range of ``values`` is short (a
    wafer's rows and columns) each number of the range is formatted once, else each
    value in order (and which is None)."""
    lo, hi = int(values.min()), int(values.max())
    if 2 * (hi - lo + 1) <= len(values):
        which = (values - lo).astype(np.intp, copy=False)
        return _digits(np.arange(lo, hi + 1, dtype=np.int64)), which
    return _digits(values), None


def _digits(values: np.ndarray) -> np.ndarray:
    """``"%d" % v`` of every int64 ``v`` (n >= 1 of them) as the rows of an n×w byte
    matrix (ASCII, right aligned, NUL padded), digit by digit in numpy."""
    neg = values < 0
    sign = int(neg.any())  # (a sign column only when needed: fewer NULs to drop)
    if not sign and int(values.max()) <= np.iinfo(np.uint32).max:
        rest, ten = values.astype(np.uint32), np.uint32(10)  # (divides faster)
    else:
        rest, ten = values.astype(np.uint64), np.uint64(10)
        rest[neg] = -rest[neg]  # (two's complement: the magnitude, also of the most negative)
    width = len(str(int(rest.max())))
    out = np.zeros((len(rest), sign + width), dtype=np.uint8)
    if sign:
        out[neg, 0] = ord("-")
    for k in range(width):  # (k: digits to the right of this one)
        digit = out[:, -1 - k]
        np.add(rest % ten, ord("0"), out=digit, casting="unsafe")
        if k:
            digit[rest == 0] = 0  # no leading zeros (0 itself keeps its last digit)
        rest //= ten
    return out


def _float_field(values: np.ndarray, directive: str,
                 key: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``directive % float(v)`` of every float64 ``v`` (n >= 1 of them), each distinct
    value (bit pattern: -0.0 is not 0.0) formatted once, by Python.

    Args:
        values: the numbers.
        directive: ``%r`` or ``%.3f``.
        key: int64 numbers that may determine ``values`` (a die's column its x, its row
            its y); when their range is short and each one goes with a single value,
            that value is found by key, without sorting ``values``.

    Returns:
        The texts as the rows of a u×w byte matrix (ASCII, NUL padded), and for each
        value the row of its text.
    """
    bits = values.view(np.int64)
    unique = None
    if key is not None and 2 * (int(key.max()) - int(key.min()) + 1) <= len(key):
        which = (key - key.min()).astype(np.intp, copy=False)
        by_key = np.zeros(int(which.max()) + 1, dtype=np.int64)  # (unused keys: 0.0)
        by_key[which] = bits
        if np.array_equal(by_key[which], bits):
            unique = by_key.view(np.float64)
    if unique is None:
        order = np.argsort(bits, kind="stable")
        ordered = bits[order]
        first = np.empty(len(bits), dtype=bool)  # (the first of its value in sorted order)
        first[0] = True
        np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
        which = np.empty(len(bits), dtype=np.intp)
        which[order] = np.cumsum(first, dtype=np.intp) - 1
        unique = values[order[first]]
    texts = [(directive % v).encode("ascii") for v in unique.tolist()]
    table = np.array(texts, dtype=f"S{max(map(len, texts))}")
    return table.view(np.uint8).reshape(len(texts), -1), which


def _format_lines(template: str, columns: list[np.ndarray], sep: str = "",
                  keys: Mapping[int, int] | None = None) -> Iterator[str]:
    """``sep.join(template % die for die in zip(*columns))`` in pieces (a block of dies
    each). ``template`` holds ``%d`` (int64 columns), ``%r`` and ``%.3f`` (float64
    columns) and no other ``%``; neither it nor ``sep`` holds a NUL. ``keys`` maps a
    float column (its position) to an int column that may determine it (see
    :func:`_float_field`).

    Raises:
        ValueError: another template.
    """
    pieces = re.split(r"(%d|%r|%\.3f)", template + sep)
    consts, directives = pieces[0::2], pieces[1::2]
    if len(directives) != len(columns) or any("%" in c or "\0" in c for c in consts):
        raise ValueError(f"unsupported die line template {template!r}")
    n = len(columns[0]) if columns else 0
    if n == 0:
        return
    # each field: its texts (rows of a byte matrix) and which text each die has (None:
    # one row per die)
    keys = keys or {}
    fields = [_int_field(column) if directive == "%d"
              else _float_field(column, directive, columns[keys[i]] if i in keys else None)
              for i, (directive, column) in enumerate(zip(directives, columns, strict=True))]
    width = sum(map(len, consts)) + sum(table.shape[1] for table, _ in fields)
    matrix = np.empty((min(n, _BLOCK), width), dtype=np.uint8)
    slots = []  # (where in the matrix, texts, which) of each field, texts as one item each
    at = 0
    for const, (table, which) in zip(consts, [*fields, (None, None)], strict=True):
        if const:
            matrix[:, at:at + len(const)] = np.frombuffer(const.encode("ascii"), np.uint8)
            at += len(const)
        if table is not None:
            w = table.shape[1]
            item = np.dtype(f"V{w}")
            slots.append((matrix[:, at:at + w].view(item)[:, 0],
                          np.ascontiguousarray(table).view(item)[:, 0], which))
            at += w
    for lo in range(0, n, _BLOCK):
        hi = min(lo + _BLOCK, n)
        for slot, texts, which in slots:
            slot[:hi - lo] = texts[lo:hi] if which is None else texts[which[lo:hi]]
        text = matrix[:hi - lo].tobytes().replace(b"\0", b"")
        yield text[:len(text) - len(sep) if hi == n else len(text)].decode("ascii")


#: one die of the wafer map JSON, as ``json.dumps(doc, indent=1, sort_keys=True)`` writes
#: it inside the top-level ``dies`` list (``%r`` of a finite float is ``float.__repr__``,
#: which both JSON encoders use)
_DIE_JSON = ('  {\n   "col": %d,\n   "index": %d,\n   "row": %d,\n   "x": %r,\n'
             '   "y": %r\n  }')
#: the die list's place in the metadata encoded with an empty die list
_EMPTY_DIES = '\n "dies": [],\n'
#: one die of the wafer map CSV: what csv.writer writes for these fields (none needs
#: quoting)
_DIE_CSV = "%d,%d,%d,%.3f,%.3f\n"


def wafer_map_json_pieces(grid: WaferGrid, product: str, wafer_diameter: float,
                          edge_exclusion: float, notch_depth: float = 1000.0) -> Iterator[str]:
    """:func:`wafer_map_json` in pieces, made as they are asked for: the first holds the
    whole text before the dies (it begins with ``{``), the next ones a block of dies
    each, the last the rest."""
    doc = {
        "notch_depth": notch_depth,
        "product": product,
        "units": "um",
        "wafer_diameter": wafer_diameter,
        "edge_exclusion": edge_exclusion,
        "usable_radius": grid.usable_radius,
        "die_size": list(grid.die),
        "step": list(grid.step),
        "grid_offset": grid.offset,
        "counts_by_offset": grid.counts,
        "die_count": grid.count,
        "dies": [],
    }
    rows, cols, xs, ys = _arrays(grid)
    head = json.dumps(doc, indent=1, sort_keys=True)
    if not len(rows):
        yield head + "\n"
        return
    if head.count(_EMPTY_DIES) != 1 or not (np.isfinite(xs).all() and np.isfinite(ys).all()):
        # (NaN and infinity are NaN and Infinity in JSON, nan and inf for repr)
        doc["dies"] = wafer_map_rows(grid)
        yield json.dumps(doc, indent=1, sort_keys=True) + "\n"
        return
    before, after = head.split(_EMPTY_DIES)
    yield f'{before}\n "dies": [\n'
    yield from _format_lines(_DIE_JSON, [cols, np.arange(len(rows), dtype=np.int64), rows,
                                         xs, ys], ",\n", {3: 0, 4: 2})
    yield f'\n ],\n{after}\n'


def wafer_map_json(grid: WaferGrid, product: str, wafer_diameter: float,
                   edge_exclusion: float, notch_depth: float = 1000.0) -> str:
    """The wafer map as JSON text (metadata and the die list).

    The bytes of ``json.dumps(doc, indent=1, sort_keys=True) + "\n"``; since ``indent``
    makes :mod:`json` use its pure-Python encoder (about 30 µs per die), the metadata is
    encoded by it with an empty die list and the dies are formatted directly into it.

    Args:
        grid: the dies.
        product: product name.
        wafer_diameter: wafer diameter, µm.
        edge_exclusion: width of the unusable ring at the wafer edge, µm.
        notch_depth: depth of the orientation notch at -Y, µm (drawn by the wafer-map
            picture).
    """
    return "".join(wafer_map_json_pieces(grid, product, wafer_diameter, edge_exclusion,
                                         notch_depth))


def wafer_map_csv_pieces(grid: WaferGrid) -> Iterator[str]:
    """:func:`wafer_map_csv` in pieces, made as they are asked for: the header line,
    then a block of dies each."""
    rows, cols, xs, ys = _arrays(grid)
    yield "index,row,col,x_um,y_um\n"
    yield from _format_lines(_DIE_CSV, [np.arange(len(rows), dtype=np.int64), rows, cols,
                                        xs, ys], keys={3: 2, 4: 1})


def wafer_map_csv(grid: WaferGrid) -> str:
    """The wafer map as CSV text: index,row,col,x_um,y_um."""
    return "".join(wafer_map_csv_pieces(grid))
