"""Assembly of dies into a wafer: grid placement, wafer outline, wafer map.

Shared by every wafer product. The die cell is placed by repetition: one GDS array
reference (AREF) per row of whole dies, so the file grows with the number of rows,
not of dies.

Coordinates: the wafer centre is the origin; the notch is at 6 o'clock (-Y).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
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


def _grid_for(offset: tuple[float, float], radius: float, die: tuple[float, float],
              step: tuple[float, float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    sx, sy = step
    hw, hh = die[0] / 2, die[1] / 2
    nx = int(math.ceil(radius / sx)) + 2
    ny = int(math.ceil(radius / sy)) + 2
    ix = np.arange(-nx, nx + 1)
    iy = np.arange(-ny, ny + 1)
    gx, gy = np.meshgrid(ix, iy)
    cx = (gx + offset[0]) * sx
    cy = (gy + offset[1]) * sy
    # whole die: its farthest corner inside the usable circle
    fx = np.abs(cx) + hw
    fy = np.abs(cy) + hh
    ok = fx * fx + fy * fy <= radius * radius
    return cx[ok], cy[ok], np.column_stack((gx[ok], gy[ok]))


def die_grid(wafer_diameter: float, edge_exclusion: float, die: tuple[float, float],
             step: tuple[float, float], offset: str = "auto") -> WaferGrid:
    """Place whole dies on a wafer, maximising their number.

    Args:
        wafer_diameter: wafer diameter, µm.
        edge_exclusion: width of the unusable ring at the wafer edge, µm.
        die: die (width, height), µm; a die is whole when it lies inside the usable circle.
        step: grid step (x, y), µm: die size plus scribe lane width.
        offset: ``auto`` (the offset of GRID_OFFSETS with the most dies; ties go to the
            first listed) or one of its keys.
    """
    radius = wafer_diameter / 2 - edge_exclusion
    counts: dict[str, int] = {}
    results = {}
    names = list(GRID_OFFSETS) if offset == "auto" else [offset]
    for name in names:
        cx, cy, idx = _grid_for(GRID_OFFSETS[name], radius, die, step)
        counts[name] = len(cx)
        results[name] = (cx, cy, idx)
    best = max(names, key=lambda n: (counts[n], -names.index(n)))
    cx, cy, idx = results[best]
    order = np.lexsort((cx, -cy))
    cx, cy, idx = cx[order], cy[order], idx[order]
    rows = (idx[:, 1].max() - idx[:, 1]) if len(idx) else idx[:, 1]
    cols = (idx[:, 0] - idx[:, 0].min()) if len(idx) else idx[:, 0]
    return WaferGrid(snap(np.column_stack((cx, cy))), rows.astype(int), cols.astype(int), best,
                     counts, step, die, radius)


def place_dies(top: gdstk.Cell, die_cell: gdstk.Cell, grid: WaferGrid,
               die_origin: tuple[float, float] = (0.0, 0.0)) -> int:
    """Reference ``die_cell`` at every whole die of ``grid``: one array per row.

    Args:
        top: the wafer cell that receives the references.
        die_cell: the die cell.
        grid: the grid from :func:`die_grid`.
        die_origin: where the die's centre is in the die cell's coordinates, µm.

    Returns:
        The number of references added (rows).
    """
    n = 0
    sx = grid.step[0]
    rows = np.asarray(grid.rows)
    if not len(rows):
        return 0
    # the dies of each row in grid order, rows in ascending order: one stable sort
    # instead of a comparison of every die per row (and no np.unique, which imports
    # numpy.ma)
    order = np.argsort(rows, kind="stable")
    for sel in np.split(order, np.flatnonzero(np.diff(rows[order])) + 1):
        xs = grid.centers[sel, 0]
        y = float(grid.centers[sel, 1][0])
        cols = grid.cols[sel]
        # split the row where columns are not consecutive
        breaks = np.nonzero(np.diff(cols) != 1)[0] + 1
        for chunk in np.split(np.arange(len(xs)), breaks):
            x0 = float(xs[chunk[0]])
            origin = (x0 - die_origin[0], y - die_origin[1])
            rep = gdstk.Repetition(columns=len(chunk), rows=1, spacing=(sx, 0)) \
                if len(chunk) > 1 else None
            ref = gdstk.Reference(die_cell, origin)
            if rep is not None:
                ref.repetition = rep
            top.add(ref)
            n += 1
    return n


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


def _columns(grid: WaferGrid) -> tuple[list[int], list[int], list[float], list[float]]:
    """Rows, columns, x and y of every die as Python ints and floats (what ``int()`` and
    ``float()`` give for each element), without a Python call per die.

    Raises:
        ValueError: rows, columns and centres differ in length.
    """
    centers = np.asarray(grid.centers, dtype=float).reshape(-1, 2)
    rows = np.asarray(grid.rows).astype(np.int64).tolist()
    cols = np.asarray(grid.cols).astype(np.int64).tolist()
    if not len(rows) == len(cols) == len(centers):
        raise ValueError(f"wafer grid: {len(rows)} rows, {len(cols)} columns and "
                         f"{len(centers)} centres")
    return rows, cols, centers[:, 0].tolist(), centers[:, 1].tolist()


def wafer_map_rows(grid: WaferGrid) -> list[dict]:
    """One dict per die: index, row, col, x and y of its centre (µm)."""
    rows, cols, xs, ys = _columns(grid)
    return [{"index": i, "row": r, "col": c, "x": x, "y": y}
            for i, (r, c, x, y) in enumerate(zip(rows, cols, xs, ys, strict=True))]


#: one die of the wafer map JSON, as ``json.dumps(doc, indent=1, sort_keys=True)`` writes
#: it inside the top-level ``dies`` list (``%r`` of a finite float is ``float.__repr__``,
#: which both JSON encoders use)
_DIE_JSON = ('  {\n   "col": %d,\n   "index": %d,\n   "row": %d,\n   "x": %r,\n'
             '   "y": %r\n  }')
#: the die list's place in the metadata encoded with an empty die list
_EMPTY_DIES = '\n "dies": [],\n'


def wafer_map_json(grid: WaferGrid, product: str, wafer_diameter: float,
                   edge_exclusion: float, notch_depth: float = 1000.0) -> str:
    """The wafer map as JSON text (metadata and the die list).

    The bytes of ``json.dumps(doc, indent=1, sort_keys=True) + "\n"``; since ``indent``
    makes :mod:`json` use its pure-Python encoder (about 30 µs per die), the metadata is
    encoded by it with an empty die list and the dies are formatted directly into it.

    Args:
        notch_depth: depth of the orientation notch at -Y, µm (drawn by the wafer-map
            picture).
    """
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
    rows, cols, xs, ys = _columns(grid)
    head = json.dumps(doc, indent=1, sort_keys=True)
    if not rows:
        return head + "\n"
    if head.count(_EMPTY_DIES) != 1 or not np.isfinite(grid.centers).all():
        # (NaN and infinity are NaN and Infinity in JSON, nan and inf for repr)
        doc["dies"] = wafer_map_rows(grid)
        return json.dumps(doc, indent=1, sort_keys=True) + "\n"
    dies = ",\n".join(map(_DIE_JSON.__mod__, zip(cols, range(len(rows)), rows, xs, ys,
                                                     strict=True)))
    before, after = head.split(_EMPTY_DIES)
    return f'{before}\n "dies": [\n{dies}\n ],\n{after}\n'


def wafer_map_csv(grid: WaferGrid) -> str:
    """The wafer map as CSV text: index,row,col,x_um,y_um."""
    rows, cols, xs, ys = _columns(grid)
    # what csv.writer writes for these fields: none needs quoting
    body = "".join(map("%d,%d,%d,%.3f,%.3f\n".__mod__, zip(range(len(rows)), rows, cols,
                                                               xs, ys, strict=True)))
    return "index,row,col,x_um,y_um\n" + body
