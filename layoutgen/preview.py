"""Pictures of layouts and wafer maps (matplotlib, Agg, no display needed).

:func:`render` draws a cell of a GDS/OASIS file (or of a :class:`LayoutData`, or of
gdstk cells in memory) to PNG or SVG, in the layer map's colours, with a legend of the
layers shown, a scale bar and the cell name as title::

    from layoutgen.preview import render, wafer_map
    render("out/capped_die.gds", "die.png")
    render("out/capped_wafer.gds", "corner.svg", window=(-5000, -5000, 5000, 5000),
           layers=["CAP_SOLDER", "SEAL_LAND"])
    wafer_map("out/capped_wafer_wafermap.json", "map.png", report="check.json")

How large layouts stay fast: every distinct cell's polygons are prepared once per layer
(oriented, closed, as one compound path) and stamped at each of its placements with
numpy; placements outside the view are dropped before anything is drawn. A cell placed
more than :data:`OUTLINE_MIN_INSTANCES` times whose instances would be smaller than
:data:`OUTLINE_MAX_PX` pixels (a zoomed-out wafer), or whose stamped copies would take
the picture past :data:`MAX_VERTICES`, is drawn as one outline per instance in a single
collection instead: its DIE outline (a die), else the convex hull of its shapes in the
colour of its largest layer (a ball pad becomes a disc).

Drawing style follows the layer map: fill colour with transparency (solid patterns
``I0`` strongest, hatched ones lighter, hollow ones ``I1`` almost clear) and the edge in
the full colour. Output is deterministic: fixed size and DPI, fixed PNG/SVG metadata
(no dates), a fixed ``svg.hashsalt``.

matplotlib is imported only when something is drawn (``import layoutgen.preview`` is
cheap), and never through pyplot, so no display or global figure state is involved.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from layoutgen.errors import LayoutgenError
from layoutgen.layers import DEFAULT_LAYERS, LayerMap

__all__ = [
    "DPI",
    "Picture",
    "PreviewError",
    "Rendered",
    "WaferMapped",
    "die_failures",
    "load_layout",
    "nice_length",
    "parse_window",
    "picture",
    "render",
    "resolve_cell",
    "resolve_layers",
    "violation_points",
    "wafer_map",
]

#: pixels per inch of every picture
DPI = 120
#: a cell placed more often than this in the view may be drawn as outlines
OUTLINE_MIN_INSTANCES = 200
#: ... when each of its instances is smaller than this many pixels
OUTLINE_MAX_PX = 40.0
#: most vertices stamped into one picture; cells past it are drawn as outlines
MAX_VERTICES = 3_000_000
#: a cell with more flattened vertices than this is outlined by its box, not its hull
MAX_HULL_POINTS = 400_000
#: most vertices of an outline (a simplified convex hull)
HULL_VERTICES = 48
#: largest side of the drawing area, inches
AXES_MAX_IN = 7.0
#: smallest side of the drawing area, inches
AXES_MIN_IN = 2.5
#: width of the legend column, inches
LEGEND_IN = 2.5
#: height kept for the scale bar under the legend, inches
SCALE_BAR_IN = 0.6
#: edge line width, points
EDGE_PT = 0.7
#: fill opacity by KLayout dither pattern: solid, hollow, anything else (hatched)
FILL_ALPHA = {"I0": 0.55, "I1": 0.06}
HATCH_ALPHA = 0.3
#: colours of layers that are not in the layer map (by sorted layer/datatype)
EXTRA_COLORS = ("#17becf", "#bcbd22", "#e377c2", "#7f7f7f", "#8c564b", "#9467bd",
                "#d62728", "#2ca02c")
#: PNG/SVG metadata written into every picture (no dates, no version numbers)
SOFTWARE = "layoutgen"

PASS_COLOR = "#4daf4a"
FAIL_COLOR = "#e41a1c"
NEUTRAL_DIE_COLOR = "#9ecae1"


class PreviewError(LayoutgenError):
    """A picture cannot be made from the given input (one clear line)."""


# ----------------------------------------------------------------------------- results
class _Placed:
    """Mapping from layout µm to picture pixels (for image maps and pixel tests)."""

    window: tuple[float, float, float, float]
    axes_px: tuple[float, float, float, float]

    def pixel(self, x: float, y: float) -> tuple[int, int]:
        """(column, row) of the PNG pixel showing layout point (x, y) µm (row 0 at top)."""
        x0, y0, x1, y1 = self.window
        left, top, right, bottom = self.axes_px
        col = left + (x - x0) / (x1 - x0) * (right - left)
        row = bottom - (y - y0) / (y1 - y0) * (bottom - top)
        return int(math.floor(col)), int(math.floor(row))


@dataclass
class Rendered(_Placed):
    """What :func:`render` drew.

    Attributes:
        path: the picture written.
        cell: the cell drawn (names joined by ``+`` when several top cells were drawn).
        window: the area shown, (x0, y0, x1, y1) µm.
        layers: names of the layers drawn, in layer-map order (``L/D`` for layers that
            are not in the map).
        outlined: cell name -> number of instances drawn as outlines only.
        vertices: number of vertices drawn.
        violations: number of violation markers drawn.
        axes_px: the drawing area in picture pixels (left, top, right, bottom); see
            :meth:`pixel`.
    """

    path: Path
    cell: str
    window: tuple[float, float, float, float]
    layers: list[str]
    outlined: dict[str, int] = field(default_factory=dict)
    vertices: int = 0
    violations: int = 0
    axes_px: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)


@dataclass
class WaferMapped(_Placed):
    """What :func:`wafer_map` drew.

    Attributes:
        path: the picture written.
        dies: number of dies.
        failing: number of dies with a violation inside them (0 without a report).
        outside: violations that lie in no die (scribe lanes, wafer edge).
        listed: violations listed in the report (a report may cap its list).
        total: violations counted by the report.
        window: the area shown, (x0, y0, x1, y1) µm.
        axes_px: the drawing area in picture pixels (left, top, right, bottom).
    """

    path: Path
    dies: int
    failing: int = 0
    outside: int = 0
    listed: int = 0
    total: int = 0
    window: tuple[float, float, float, float] = (0.0, 0.0, 1.0, 1.0)
    axes_px: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)

    @property
    def passing(self) -> int:
        """Number of dies without a violation."""
        return self.dies - self.failing


# ----------------------------------------------------------------------------- inputs
def load_layout(layout: Any) -> Any:
    """:class:`layoutgen.check.reader.LayoutData` of a path, LayoutData, gdstk cell(s)
    or gdstk library.

    Raises:
        LayoutReadError: an unusable file (one clear line).
    """
    from layoutgen.check.reader import LayoutData, from_cells, from_library, read_layout

    if isinstance(layout, LayoutData):
        return layout
    if isinstance(layout, (str, os.PathLike)):
        return read_layout(layout)
    import gdstk

    if isinstance(layout, gdstk.Library):
        return from_library(layout, layout.name, layout.precision / 1e-6)
    if isinstance(layout, gdstk.Cell) or (isinstance(layout, (list, tuple)) and layout and all(
            isinstance(c, gdstk.Cell) for c in layout)):
        return from_cells(layout)
    raise TypeError(f"layout must be a path, LayoutData, gdstk.Cell or gdstk.Library, got "
                    f"{type(layout).__name__}")


def resolve_cell(data: Any, name: str | None) -> list[str]:
    """The cells to draw: ``[name]``, or every top cell when ``name`` is None.

    Raises:
        PreviewError: ``name`` is not a cell of the layout, or the layout has no cell.
    """
    if name is None:
        if not data.tops:
            raise PreviewError(f"{data.source}: the layout has no cell to draw")
        return list(data.tops)
    if name not in data.cells:
        tops = ", ".join(data.tops[:8]) + (" ..." if len(data.tops) > 8 else "")
        raise PreviewError(f"cell {name!r} is not in {data.source}; its top cells: {tops}")
    return [name]


def resolve_layers(layer_map: LayerMap, names: Iterable[str] | str | None
                   ) -> set[tuple[int, int]] | None:
    """(layer, datatype) pairs of the layer names to show; None shows every layer.

    Args:
        layer_map: the map naming the layers.
        names: layer names, a list or one comma-separated string (``PI1,PI2``); a name
            may also be written as ``L/D`` (``21/0``).

    Raises:
        PreviewError: an unknown name, or an empty list.
    """
    if names is None:
        return None
    if isinstance(names, str):
        names = names.split(",")
    specs: set[tuple[int, int]] = set()
    for raw in names:
        name = raw.strip()
        if not name:
            continue
        if name in layer_map:
            specs.add(layer_map.spec(name))
            continue
        ld = name.split("/")
        if len(ld) == 2 and all(p.strip().isdigit() for p in ld):
            specs.add((int(ld[0]), int(ld[1])))
            continue
        raise PreviewError(f"unknown layer {name!r}; layer names are "
                           f"{', '.join(layer_map.names)} (or L/D such as 21/0)")
    if not specs:
        raise PreviewError("no layer named; give layer names separated by commas "
                           "(such as PI1,PI2)")
    return specs


def parse_window(text: str | Sequence[float] | None) -> tuple[float, float, float, float] | None:
    """``"x0,y0,x1,y1"`` (µm) or four numbers -> a window with x0 < x1 and y0 < y1.

    Raises:
        PreviewError: not four finite numbers, or an empty area.
    """
    if text is None:
        return None
    parts: Sequence[Any] = text.split(",") if isinstance(text, str) else text
    try:
        vals = [float(p) for p in parts]
    except (TypeError, ValueError):
        raise PreviewError(f"window must be four numbers x0,y0,x1,y1 in µm, got {text!r}") \
            from None
    if len(vals) != 4 or not all(math.isfinite(v) for v in vals):
        raise PreviewError(f"window must be four finite numbers x0,y0,x1,y1 in µm, got {text!r}")
    x0, y0, x1, y1 = vals
    if not (x1 > x0 and y1 > y0):
        raise PreviewError(f"window must have x0 < x1 and y0 < y1 (µm), got {text!r}")
    return (x0, y0, x1, y1)


def _read_json(path: str | os.PathLike, what: str) -> Any:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise PreviewError(f"{path}: cannot read {what}: {exc.strerror or exc}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise PreviewError(f"{path}: not a JSON {what}: {exc}") from None


def violation_points(report: Any) -> tuple[np.ndarray, int]:
    """The violation positions of a check report and the report's violation count.

    Args:
        report: a :class:`layoutgen.check.Report`, its JSON form (dict), or the path of
            a JSON file written by ``layoutgen check --json``.

    Returns:
        (N×2 array of (x, y) µm, total violations counted; may exceed N when the
        report capped its list).

    Raises:
        PreviewError: unreadable file or not a check report.
    """
    if report is None:
        return np.zeros((0, 2)), 0
    if isinstance(report, (str, os.PathLike)):
        src = str(report)
        report = _read_json(report, "check report")
    else:
        src = "check report"
    if hasattr(report, "violations") and hasattr(report, "results"):
        pts = np.array([(v.x, v.y) for v in report.violations], dtype=float).reshape(-1, 2)
        total = sum(r.violations for r in report.results.values())
        return pts, max(total, len(pts))
    if not isinstance(report, Mapping) or not isinstance(report.get("violations"), list):
        raise PreviewError(f"{src}: not a check report (expected the JSON of layoutgen check "
                           "--json, with a 'violations' list)")
    rows = []
    for v in report["violations"]:
        try:
            rows.append((float(v["x"]), float(v["y"])))
        except (TypeError, KeyError, ValueError):
            raise PreviewError(f"{src}: a violation without numeric x and y: {v!r}") from None
    pts = np.array(rows, dtype=float).reshape(-1, 2)
    total = len(pts)
    results = report.get("results")
    if isinstance(results, Mapping):
        counted = sum(int(r.get("violations", 0)) for r in results.values()
                      if isinstance(r, Mapping))
        total = max(total, counted)
    return pts, total


# ----------------------------------------------------------------------------- geometry
def _boxes_of(box: np.ndarray, mats: np.ndarray, offs: np.ndarray) -> np.ndarray:
    """Axis-parallel boxes (K×4) of ``box`` [x0, y0, x1, y1] under K transforms."""
    corners = np.array([[box[0], box[1]], [box[2], box[1]], [box[2], box[3]], [box[0], box[3]]])
    pts = np.einsum("kij,pj->kpi", mats, corners) + offs[:, None, :]
    return np.hstack((pts.min(1), pts.max(1)))


def _union(a: np.ndarray | None, b: np.ndarray | None) -> np.ndarray | None:
    if a is None:
        return b
    if b is None:
        return a
    return np.array([min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])])


def _cell_boxes(data: Any, order: list[str]) -> dict[str, dict[tuple[int, int], np.ndarray]]:
    """Per cell, per (layer, datatype): bounding box of the cell flattened (µm)."""
    out: dict[str, dict[tuple[int, int], np.ndarray]] = {}
    for name in reversed(order):  # children first
        cd = data.cells[name]
        boxes: dict[tuple[int, int], np.ndarray] = {}
        for spec, polys in cd.shapes.items():
            if polys:
                pts = np.concatenate(polys)
                boxes[spec] = np.concatenate((pts.min(0), pts.max(0)))
        for p in cd.placements:
            for spec, bb in out[p.child].items():
                nb = _boxes_of(bb, p.matrices, p.offsets)
                nb = np.array([nb[:, 0].min(), nb[:, 1].min(), nb[:, 2].max(), nb[:, 3].max()])
                boxes[spec] = _union(boxes.get(spec), nb)
        out[name] = boxes
    return out


def _cell_vertices(data: Any, order: list[str], shown: set[tuple[int, int]] | None
                   ) -> dict[str, int]:
    """Per cell: vertices of its shown layers, flattened (counted, not expanded)."""
    out: dict[str, int] = {}
    for name in reversed(order):
        cd = data.cells[name]
        n = sum(len(p) + 1 for spec, polys in cd.shapes.items()
                if shown is None or spec in shown for p in polys)
        n += sum(out[p.child] * p.count for p in cd.placements)
        out[name] = n
    return out


def _own_vertices(data: Any, order: list[str], shown: set[tuple[int, int]] | None
                  ) -> dict[str, int]:
    """Per cell: vertices of its own shapes on the shown layers (closing ones included)."""
    return {name: sum(len(p) + 1 for spec, polys in data.cells[name].shapes.items()
                      if shown is None or spec in shown for p in polys) for name in order}


def _flat_points(data: Any, name: str, shown: set[tuple[int, int]] | None,
                 memo: dict[str, np.ndarray]) -> np.ndarray:
    """Every vertex of ``name`` flattened, on the shown layers (µm), as M×2."""
    if name in memo:
        return memo[name]
    cd = data.cells[name]
    parts = [np.concatenate(polys) for spec, polys in cd.shapes.items()
             if polys and (shown is None or spec in shown)]
    for p in cd.placements:
        child = _flat_points(data, p.child, shown, memo)
        if len(child):
            parts.append((np.einsum("kij,pj->kpi", p.matrices, child)
                          + p.offsets[:, None, :]).reshape(-1, 2))
    memo[name] = np.concatenate(parts) if parts else np.zeros((0, 2))
    return memo[name]


def _hull(points: np.ndarray, box: np.ndarray) -> np.ndarray:
    """Convex hull of ``points`` simplified to about HULL_VERTICES vertices (else ``box``)."""
    import shapely

    corners = np.array([[box[0], box[1]], [box[2], box[1]], [box[2], box[3]],
                        [box[0], box[3]]])
    if len(points) < 3:
        return corners
    hull = shapely.convex_hull(shapely.multipoints(points))
    if hull.geom_type != "Polygon":
        return corners
    size = max(box[2] - box[0], box[3] - box[1])
    tol = size * 1e-3
    for _ in range(12):
        simple = hull.simplify(tol, preserve_topology=True)
        if len(simple.exterior.coords) <= HULL_VERTICES + 1:
            break
        tol *= 2
    return np.asarray(simple.exterior.coords)[:-1]


def _keyhole_rings(p: np.ndarray) -> list[np.ndarray] | None:
    """The rings of a keyholed polygon, or None for an ordinary one.

    GDSII has no holes: a ring is drawn as one boundary with a zero-width cut from the
    outside to the hole, whose two sides run over the same segment in opposite
    directions. Stroked as drawn, the cut shows as a line across the ring; split into its
    outer boundary (counter-clockwise) and holes (clockwise), it is drawn as the ring it
    is.

    Args:
        p: the polygon's vertices, N×2 µm (not closed).
    """
    q = np.round(p, 9)
    nxt = np.roll(q, -1, axis=0)
    fwd = {(a[0], a[1], b[0], b[1]) for a, b in zip(q.tolist(), nxt.tolist(), strict=True)}
    if not any((e[2], e[3], e[0], e[1]) in fwd for e in fwd):
        return None
    import shapely
    from shapely.geometry import Polygon

    g = shapely.make_valid(Polygon(p))
    pieces = [h for h in getattr(g, "geoms", [g]) if isinstance(h, Polygon) and not h.is_empty]
    if not pieces:
        return None
    rings = []
    for piece in pieces:
        piece = shapely.geometry.polygon.orient(piece, 1.0)
        rings.append(np.asarray(piece.exterior.coords))
        rings += [np.asarray(r.coords) for r in piece.interiors]
    return rings


class _Template:
    """One cell's polygons on one layer, prepared once for stamping at its placements.

    Every polygon is oriented counter-clockwise (so the non-zero fill rule draws the
    union of overlapping polygons) and closed; ``rverts`` holds the clockwise variant,
    which a mirroring placement turns counter-clockwise again.

    Attributes:
        verts: all polygons' vertices, closed, M×2 µm.
        rverts: the same, clockwise.
        codes: matplotlib path codes, M.
        pid: polygon index of each vertex, M.
        boxes: bounding box of each polygon, P×4 µm.
        areas: area of each polygon, P, µm².
    """

    def __init__(self, polys: list[np.ndarray]) -> None:
        from matplotlib.path import Path as MPath

        verts, rverts, codes, pids, boxes, areas = [], [], [], [], [], []
        for p in polys:
            if len(p) < 3:
                continue
            x, y = p[:, 0], p[:, 1]
            area = float(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y))
            rings = _keyhole_rings(p)
            if rings is None:
                ccw = p if area >= 0 else p[::-1]
                rings = [np.vstack((ccw, ccw[:1]))]
            for ring in rings:
                verts.append(ring)
                rverts.append(ring[::-1])
                c = np.full(len(ring), MPath.LINETO, dtype=np.uint8)
                c[0], c[-1] = MPath.MOVETO, MPath.CLOSEPOLY
                codes.append(c)
                pids.append(np.full(len(ring), len(areas), dtype=np.int64))
            boxes.append((x.min(), y.min(), x.max(), y.max()))
            areas.append(abs(area) / 2)
        empty = not verts
        self.verts = np.zeros((0, 2)) if empty else np.concatenate(verts)
        self.rverts = np.zeros((0, 2)) if empty else np.concatenate(rverts)
        self.codes = np.zeros(0, dtype=np.uint8) if empty else np.concatenate(codes)
        self.pid = np.zeros(0, dtype=np.int64) if empty else np.concatenate(pids)
        self.boxes = np.array(boxes, dtype=float).reshape(-1, 4)
        self.areas = np.array(areas, dtype=float)
        self.box = (np.array([self.boxes[:, 0].min(), self.boxes[:, 1].min(),
                              self.boxes[:, 2].max(), self.boxes[:, 3].max()])
                    if len(self.boxes) else None)

    def visible(self, m: np.ndarray, o: np.ndarray, view: tuple[float, ...]) -> np.ndarray:
        """Which polygons, placed by matrix ``m`` and offset ``o``, touch ``view``."""
        bb = _boxes_per(self.boxes, m, o)
        x0, y0, x1, y1 = view
        return (bb[:, 2] >= x0) & (bb[:, 0] <= x1) & (bb[:, 3] >= y0) & (bb[:, 1] <= y1)


def _boxes_per(boxes: np.ndarray, m: np.ndarray, o: np.ndarray) -> np.ndarray:
    """Axis-parallel boxes (P×4) of the boxes ``boxes`` (P×4) under one transform."""
    xs = boxes[:, [0, 2, 2, 0]]
    ys = boxes[:, [1, 1, 3, 3]]
    px = m[0, 0] * xs + m[0, 1] * ys + o[0]
    py = m[1, 0] * xs + m[1, 1] * ys + o[1]
    return np.column_stack((px.min(1), py.min(1), px.max(1), py.max(1)))


#: a cell placed at most this often in the view is culled polygon by polygon
FEW_INSTANCES = 8


def nice_length(span: float, fraction: float = 0.2) -> float:
    """A round length (1, 2 or 5 × 10^k) of at most ``fraction`` × ``span`` (same unit)."""
    target = max(span * fraction, 1e-12)
    exp = math.floor(math.log10(target))
    best = 10.0 ** exp
    for m in (1.0, 2.0, 5.0, 10.0):
        if m * 10.0 ** exp <= target * (1 + 1e-9):
            best = m * 10.0 ** exp
    return best


def _length_label(um: float) -> str:
    """``500 µm``, ``2 mm``, ``200 nm`` for a length in µm."""
    if um >= 1000:
        return f"{um / 1000:g} mm"
    if um >= 1:
        return f"{um:g} µm"
    return f"{um * 1000:g} nm"


def _rgb(color: str) -> tuple[float, float, float]:
    return (int(color[1:3], 16) / 255, int(color[3:5], 16) / 255, int(color[5:7], 16) / 255)


def _fill_alpha(pattern: str) -> float:
    return FILL_ALPHA.get(pattern, HATCH_ALPHA)


@dataclass(frozen=True)
class _Style:
    label: str
    color: str
    alpha: float
    order: int


def _styles(layer_map: LayerMap, specs: Iterable[tuple[int, int]]) -> dict[tuple[int, int], _Style]:
    """Drawing style of every (layer, datatype): from the map, else a fixed extra colour."""
    out: dict[tuple[int, int], _Style] = {}
    extra = 0
    n = len(layer_map)
    for spec in sorted(set(specs)):
        lay = layer_map.by_spec(*spec)
        if lay is not None:
            idx = layer_map.names.index(lay.name)
            out[spec] = _Style(f"{lay.name} {spec[0]}/{spec[1]}", lay.color,
                               _fill_alpha(lay.pattern), idx)
        else:
            out[spec] = _Style(f"{spec[0]}/{spec[1]} (not in the layer map)",
                               EXTRA_COLORS[extra % len(EXTRA_COLORS)],
                               HATCH_ALPHA, n + extra)
            extra += 1
    return out


# ----------------------------------------------------------------------------- figure
def _rc() -> dict[str, Any]:
    """matplotlib settings for deterministic pictures."""
    return {"svg.hashsalt": SOFTWARE, "svg.fonttype": "path", "font.family": "DejaVu Sans",
            "font.size": 9, "path.simplify": True, "axes.titlesize": 11,
            "savefig.dpi": DPI, "figure.dpi": DPI}  # pictures set their own dpi


def _figure(view_w: float, view_h: float, legend_rows: int, dpi: int = DPI
            ) -> tuple[Any, Any, float, float]:
    """A figure sized to the view's aspect: (figure, axes, axes width px, axes height px)."""
    from matplotlib.figure import Figure

    aspect = view_h / view_w
    if aspect >= 1:
        ah, aw = AXES_MAX_IN, max(AXES_MAX_IN / aspect, AXES_MIN_IN)
    else:
        aw, ah = AXES_MAX_IN, max(AXES_MAX_IN * aspect, AXES_MIN_IN)
    left, bottom, top, gap = 0.85, 0.6, 0.75, 0.2
    legend_h = 0.4 + 0.2 * legend_rows + SCALE_BAR_IN
    fig_h = bottom + max(ah, legend_h) + top
    fig_w = left + aw + gap + LEGEND_IN
    fig = Figure(figsize=(fig_w, fig_h), dpi=dpi, facecolor="white")
    ax = fig.add_axes((left / fig_w, (fig_h - top - ah) / fig_h, aw / fig_w, ah / fig_h))
    return fig, ax, aw * dpi, ah * dpi


def _fit(window: tuple[float, float, float, float], aw: float, ah: float
         ) -> tuple[float, float, float, float]:
    """``window`` grown to the axes' aspect ratio, centred (so µm are square)."""
    x0, y0, x1, y1 = window
    w, h = x1 - x0, y1 - y0
    if w / h < aw / ah:
        w2 = h * aw / ah
        cx = (x0 + x1) / 2
        return (cx - w2 / 2, y0, cx + w2 / 2, y1)
    h2 = w * ah / aw
    cy = (y0 + y1) / 2
    return (x0, cy - h2 / 2, x1, cy + h2 / 2)


def _unit_axes(ax: Any, span: float) -> None:
    """Axis labels in µm, or mm for views wider than 5 mm."""
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    mm = span > 5000
    scale, unit = (1000.0, "mm") if mm else (1.0, "µm")
    fmt = FuncFormatter(lambda v, _pos: f"{v / scale:g}")
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_formatter(fmt)
        axis.set_major_locator(MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10]))
    ax.set_xlabel(f"x ({unit})")
    ax.set_ylabel(f"y ({unit})")
    ax.tick_params(labelsize=8)


def _scale_bar(ax: Any, span: float, height: float) -> None:
    """A round-length scale bar in the legend column, level with the drawing's bottom
    (so it never hides a shape; the figure keeps room for it under the legend)."""
    from matplotlib.font_manager import FontProperties
    from mpl_toolkits.axes_grid1.anchored_artists import AnchoredSizeBar

    length = nice_length(span)
    fig = ax.figure
    x_col = ax.get_position().x1 + 0.2 / fig.get_figwidth()
    y_bottom = 0.6 / fig.get_figheight()
    bar = AnchoredSizeBar(ax.transData, length, _length_label(length), loc="lower left",
                          pad=0.4, borderpad=0.0, sep=3, color="black", frameon=True,
                          size_vertical=height * 0.008,
                          fontproperties=FontProperties(size=9, weight="bold"),
                          bbox_to_anchor=(x_col, y_bottom), bbox_transform=fig.transFigure)
    bar.patch.set_facecolor("white")
    bar.patch.set_alpha(0.85)
    bar.patch.set_edgecolor("#888888")
    bar.set_zorder(10_000)
    ax.add_artist(bar)
    bar.set_clip_on(False)


def _save(fig: Any, out: str | os.PathLike) -> Path:
    """Save ``fig`` to ``out`` (``.png`` or ``.svg``) atomically, without dates."""
    from layoutgen.io import atomic_path

    path = Path(out)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in ("png", "svg"):
        raise PreviewError(f"{path}: the picture must be a .png or .svg file")
    meta: dict[str, Any] = {"Software": SOFTWARE} if fmt == "png" else {
        "Creator": SOFTWARE, "Date": None}
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=fmt, dpi=fig.dpi, metadata=meta, facecolor="white")
    return path


def _axes_px(fig: Any, ax: Any) -> tuple[float, float, float, float]:
    """The axes' drawing area in picture pixels: (left, top, right, bottom), row 0 on top."""
    bb = ax.get_window_extent()
    height = fig.get_figheight() * fig.dpi
    return (float(bb.x0), float(height - bb.y1), float(bb.x1), float(height - bb.y0))


def _titles(ax: Any, title: str, subtitle: str) -> None:
    """Bold title over a grey subtitle line, both left-aligned above the drawing."""
    ax.set_title(title, loc="left", fontweight="bold", pad=15)
    ax.annotate(subtitle, xy=(0, 1), xycoords="axes fraction", xytext=(0, 4),
                textcoords="offset points", ha="left", va="bottom", fontsize=7,
                color="#555555", annotation_clip=False)


def _legend(ax: Any, handles: list[Any]) -> None:
    if handles:
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.03, 1.0),
                  borderaxespad=0.0, frameon=False, fontsize=8, handlelength=1.6,
                  handleheight=1.1, labelspacing=0.5)


# ----------------------------------------------------------------------------- render
def render(layout: Any, out: str | os.PathLike, cell: str | None = None,
           layers: Iterable[str] | str | None = None,
           window: tuple[float, float, float, float] | str | None = None,
           title: str | None = None, *, layer_map: LayerMap | None = None,
           violations: Any = None, show_progress: bool = False, dpi: int = DPI) -> Rendered:
    """Draw one cell of a layout to a PNG or SVG picture.

    Args:
        layout: a GDS/OASIS path, a :class:`~layoutgen.check.reader.LayoutData`, gdstk
            cell(s) or a gdstk library.
        out: the picture to write, ``.png`` or ``.svg`` (written atomically).
        cell: the cell to draw; default: the top cell (every top cell when there are
            several).
        layers: names of the layers to show (a list or ``"PI1,PI2"``); default all.
        window: the area to show, (x0, y0, x1, y1) µm or ``"x0,y0,x1,y1"``; default the
            drawn shapes' extent plus a margin. The area is grown to the picture's
            aspect ratio (µm stay square).
        title: picture title; default the cell name.
        layer_map: the layer map giving names and colours (default: DESIGN.md's).
        violations: a check report (Report, its JSON dict, or a JSON file path) whose
            violations are marked with red crosses.
        show_progress: draw a progress bar on stderr (a terminal only).
        dpi: picture resolution, pixels per inch (the figure is about 10 × 8 inches).

    Returns:
        :class:`Rendered`: what was drawn.

    Raises:
        PreviewError: unknown cell or layer, bad window, none of the chosen layers drawn,
            or an output that is neither .png nor .svg.
        LayoutReadError: an unusable layout file.
    """
    from layoutgen.check.reader import topo_order
    from layoutgen.progress import progress

    out_path = Path(out)
    if out_path.suffix.lower() not in (".png", ".svg"):
        raise PreviewError(f"{out_path}: the picture must be a .png or .svg file")
    layer_map = layer_map or DEFAULT_LAYERS
    data = load_layout(layout)
    roots = resolve_cell(data, cell)
    shown = resolve_layers(layer_map, layers)
    win = parse_window(window) if window is not None else None
    vpts, _vtotal = violation_points(violations)

    order = topo_order(data.cells, roots)
    boxes = _cell_boxes(data, order)
    verts_of = _cell_vertices(data, order, shown)
    own_of = _own_vertices(data, order, shown)
    die_spec = layer_map.spec("DIE") if "DIE" in layer_map else None

    def shown_box(name: str) -> np.ndarray | None:
        b = None
        for spec, bb in boxes[name].items():
            if shown is None or spec in shown:
                b = _union(b, bb)
        return b

    def silhouette(name: str, box: np.ndarray) -> tuple[np.ndarray, str]:
        """Outline drawn for each instance of ``name``: (polygon, colour)."""
        dbox = boxes[name].get(die_spec) if die_spec else None
        if dbox is not None and (shown is None or die_spec in shown):
            corners = np.array([[dbox[0], dbox[1]], [dbox[2], dbox[1]], [dbox[2], dbox[3]],
                                [dbox[0], dbox[3]]])
            return corners, layer_map["DIE"].color
        cand = [(s, b) for s, b in boxes[name].items() if shown is None or s in shown]
        spec = max(cand, key=lambda sb: ((sb[1][2] - sb[1][0]) * (sb[1][3] - sb[1][1]),
                                         -sb[0][0], -sb[0][1]))[0]
        color = _styles(layer_map, [spec])[spec].color
        lay = layer_map.by_spec(*spec)
        if lay is None:
            color = "#808080"
        if verts_of[name] > MAX_HULL_POINTS:
            return _hull(np.zeros((0, 2)), box), color
        return _hull(_flat_points(data, name, shown, flat_memo), box), color

    extent = None
    for r in roots:
        extent = _union(extent, shown_box(r))
    if extent is None and shown is not None:
        drawn = sorted({s for r in roots for s in boxes[r]})
        names = [_styles(layer_map, drawn)[s].label.split()[0] for s in drawn]
        raise PreviewError(f"none of the chosen layers is drawn in {'+'.join(roots)}; it "
                           f"draws {', '.join(names) or 'nothing'}")
    if win is None:
        if extent is None:
            win = (-1.0, -1.0, 1.0, 1.0)
        else:
            w, h = extent[2] - extent[0], extent[3] - extent[1]
            m = 0.04 * max(w, h, 1e-3)
            win = (extent[0] - m, extent[1] - m, extent[2] + m, extent[3] + m)

    specs_all = {s for r in roots for s in boxes[r] if shown is None or s in shown}
    styles = _styles(layer_map, specs_all)
    legend_rows = len(styles) + 3
    import matplotlib

    with matplotlib.rc_context(_rc()):
        fig, ax, aw_px, ah_px = _figure(win[2] - win[0], win[3] - win[1], legend_rows, dpi)
        view = _fit(win, aw_px, ah_px)
        px_per_um = aw_px / (view[2] - view[0])
        vx0, vy0, vx1, vy1 = view

        # stamp every cell's polygons at its placements
        eye = np.eye(2)[None]
        inst: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {
            r: [(eye.copy(), np.zeros((1, 2)))] for r in roots}
        acc: dict[tuple[int, int], list[tuple[np.ndarray, np.ndarray]]] = {}
        outlines: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
        silhouettes: dict[str, tuple[np.ndarray, str]] = {}
        flat_memo: dict[str, np.ndarray] = {}
        budget = 0
        templates: dict[tuple[str, tuple[int, int]], _Template] = {}
        area: dict[tuple[int, int], float] = {}
        for name in progress(order, label="drawing cells", enabled=show_progress):
            parts = inst.pop(name, None)
            if not parts:
                continue
            mats = np.concatenate([p[0] for p in parts])
            offs = np.concatenate([p[1] for p in parts])
            box = shown_box(name)
            if box is None:
                continue
            bb = _boxes_of(box, mats, offs)
            keep = (bb[:, 2] >= vx0) & (bb[:, 0] <= vx1) & (bb[:, 3] >= vy0) & (bb[:, 1] <= vy1)
            mats, offs = mats[keep], offs[keep]
            k = len(offs)
            if k == 0:
                continue
            mag = float(np.sqrt(np.abs(np.linalg.det(mats))).max())
            size_px = max(box[2] - box[0], box[3] - box[1]) * mag * px_per_um
            if name not in roots and ((k > OUTLINE_MIN_INSTANCES and size_px < OUTLINE_MAX_PX)
                                      or budget + k * own_of[name] > MAX_VERTICES):
                if name not in silhouettes:
                    silhouettes[name] = silhouette(name, box)
                outlines.setdefault(name, []).append((mats, offs))
                continue
            budget += k * own_of[name]
            cd = data.cells[name]
            mirrored = np.linalg.det(mats) < 0
            for spec, polys in cd.shapes.items():
                if shown is not None and spec not in shown or not polys:
                    continue
                key = (name, spec)
                if key not in templates:
                    templates[key] = _Template(polys)
                tpl = templates[key]
                if tpl.box is None:
                    continue
                if k <= FEW_INSTANCES:  # cull polygon by polygon (zoomed in, flat cells)
                    for j in range(k):
                        sel = tpl.visible(mats[j], offs[j], view)
                        if not sel.any():
                            continue
                        src = tpl.rverts if mirrored[j] else tpl.verts
                        codes = tpl.codes
                        if not sel.all():
                            vsel = sel[tpl.pid]
                            src, codes = src[vsel], codes[vsel]
                        acc.setdefault(spec, []).append((src @ mats[j].T + offs[j], codes))
                        area[spec] = area.get(spec, 0.0) + float(tpl.areas[sel].sum())
                    continue
                lb = _boxes_of(tpl.box, mats, offs)
                on = (lb[:, 2] >= vx0) & (lb[:, 0] <= vx1) & (lb[:, 3] >= vy0) & (lb[:, 1] <= vy1)
                if not on.any():
                    continue
                area[spec] = area.get(spec, 0.0) + float(tpl.areas.sum()) * int(on.sum())
                for flip, src in ((False, tpl.verts), (True, tpl.rverts)):
                    sel = on & (mirrored == flip)
                    if not sel.any():
                        continue
                    pts = np.einsum("kij,pj->kpi", mats[sel], src) + offs[sel][:, None, :]
                    acc.setdefault(spec, []).append((pts.reshape(-1, 2),
                                                     np.tile(tpl.codes, int(sel.sum()))))
            for p in cd.placements:
                m2 = np.einsum("kij,ljm->klim", mats, p.matrices).reshape(-1, 2, 2)
                o2 = (np.einsum("kij,lj->kli", mats, p.offsets) + offs[:, None, :]).reshape(-1, 2)
                inst.setdefault(p.child, []).append((m2, o2))

        from matplotlib.collections import PolyCollection
        from matplotlib.lines import Line2D
        from matplotlib.patches import Patch, PathPatch
        from matplotlib.path import Path as MPath

        handles: list[Any] = []
        drawn_names: list[str] = []
        n_verts = 0
        # big areas first, small features on top; the legend keeps the map's order
        stack = sorted(acc, key=lambda s: (-area.get(s, 0.0), styles[s].order))
        z = {spec: 10 + i for i, spec in enumerate(stack)}
        for spec in sorted(acc, key=lambda s: styles[s].order):
            st = styles[spec]
            verts = np.concatenate([a[0] for a in acc[spec]])
            codes = np.concatenate([a[1] for a in acc[spec]])
            n_verts += len(verts)
            rgb = _rgb(st.color)
            # add_artist, not add_patch: limits are set below, and add_patch would walk
            # every segment of the path to update them (seconds for big layouts)
            ax.add_artist(PathPatch(MPath(verts, codes), facecolor=(*rgb, st.alpha),
                                   edgecolor=(*rgb, 1.0), linewidth=EDGE_PT,
                                   zorder=z[spec]))
            handles.append(Patch(facecolor=(*rgb, max(st.alpha, 0.15)), edgecolor=(*rgb, 1.0),
                                 linewidth=1.0, label=st.label))
            drawn_names.append(st.label.split()[0])
        outline_counts: dict[str, int] = {}
        for i, name in enumerate(sorted(outlines)):
            shape, color = silhouettes[name]
            mats = np.concatenate([m for m, _o in outlines[name]])
            offs = np.concatenate([o for _m, o in outlines[name]])
            polys = np.einsum("kij,pj->kpi", mats, shape) + offs[:, None, :]
            outline_counts[name] = len(polys)
            crgb = _rgb(color)
            ax.add_collection(PolyCollection(list(polys), facecolors=[(*crgb, 0.25)],
                                             edgecolors=[(*crgb, 0.9)], linewidths=0.3,
                                             zorder=5 + i / 100), autolim=False)
            handles.append(Patch(facecolor=(*crgb, 0.25), edgecolor=(*crgb, 0.9),
                                 label=f"{_short(name)} ×{len(polys)}\n(outlines only)"))
        n_viol = 0
        if len(vpts):
            inside = ((vpts[:, 0] >= vx0) & (vpts[:, 0] <= vx1) & (vpts[:, 1] >= vy0)
                      & (vpts[:, 1] <= vy1))
            n_viol = int(inside.sum())
            ax.scatter(vpts[inside, 0], vpts[inside, 1], marker="x", s=36, linewidths=1.4,
                       c=FAIL_COLOR, zorder=9000)
            handles.append(Line2D([], [], marker="x", linestyle="none", color=FAIL_COLOR,
                                  markersize=7, markeredgewidth=1.4,
                                  label=f"violations ({len(vpts)})"))
        if not acc and not outlines:
            ax.text(0.5, 0.5, "nothing drawn in this window", transform=ax.transAxes,
                    ha="center", va="center", color="#666666")

        ax.set_xlim(vx0, vx1)
        ax.set_ylim(vy0, vy1)
        ax.set_aspect("equal", adjustable="box")
        ax.set_facecolor("white")
        span = vx1 - vx0
        _unit_axes(ax, span)
        _scale_bar(ax, span, vy1 - vy0)
        name = "+".join(roots)
        sub = Path(str(data.source)).name
        if outline_counts:
            sub += " · repeated cells drawn as outlines: zoom in with a window to see them"
        _titles(ax, title if title is not None else name, sub)
        _legend(ax, handles)
        path = _save(fig, out_path)
        axes_px = _axes_px(fig, ax)
    box = (float(vx0), float(vy0), float(vx1), float(vy1))
    return Rendered(path, name, box, drawn_names, outline_counts, n_verts, n_viol, axes_px)


def _short(name: str, limit: int = 28) -> str:
    """A cell name shortened for the legend."""
    return name if len(name) <= limit else name[: limit - 1] + "…"


# ----------------------------------------------------------------------------- wafer map
def _wafer_doc(wafermap: Any) -> tuple[dict[str, Any], str]:
    if isinstance(wafermap, (str, os.PathLike)):
        doc = _read_json(wafermap, "wafer map")
        src = str(wafermap)
    else:
        doc, src = wafermap, "wafer map"
    if not isinstance(doc, Mapping):
        raise PreviewError(f"{src}: not a wafer map (expected a JSON object)")
    for key in ("wafer_diameter", "die_size", "dies"):
        if key not in doc:
            raise PreviewError(f"{src}: not a wafer map: missing {key!r} (expected the "
                               "<name>_wafermap.json of a wafer product)")
    return dict(doc), src


def _die_centres(doc: Mapping[str, Any], src: str) -> np.ndarray:
    try:
        return np.array([(float(d["x"]), float(d["y"])) for d in doc["dies"]],
                        dtype=float).reshape(-1, 2)
    except (TypeError, KeyError, ValueError):
        raise PreviewError(f"{src}: every die needs numeric x and y (µm)") from None


def _classify(centres: np.ndarray, die_size: Sequence[float], points: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray]:
    """(N booleans: die holds a violation; M booleans: violation lies in some die)."""
    failing = np.zeros(len(centres), dtype=bool)
    hit = np.zeros(len(points), dtype=bool)
    if not len(points) or not len(centres):
        return failing, hit
    hw, hh = float(die_size[0]) / 2, float(die_size[1]) / 2
    tol = 1e-6
    # bucket the dies on a grid as coarse as a die, then test the few candidates
    cw, ch = max(2 * hw, 1e-3), max(2 * hh, 1e-3)
    buckets: dict[tuple[int, int], list[int]] = {}
    for i, (x, y) in enumerate(centres):
        buckets.setdefault((math.floor(x / cw), math.floor(y / ch)), []).append(i)
    for j, (px, py) in enumerate(points):
        bx, by = math.floor(px / cw), math.floor(py / ch)
        for dx in (-1, 0, 1):
            for dy in (-1, 0, 1):
                for i in buckets.get((bx + dx, by + dy), ()):
                    cx, cy = centres[i]
                    if abs(px - cx) <= hw + tol and abs(py - cy) <= hh + tol:
                        failing[i] = True
                        hit[j] = True
    return failing, hit


def die_failures(centres: np.ndarray, die_size: Sequence[float], points: np.ndarray
                 ) -> tuple[np.ndarray, int]:
    """Which dies hold a violation, and how many violations lie in no die.

    Args:
        centres: die centres, N×2 µm.
        die_size: (width, height) of a die, µm.
        points: violation positions, M×2 µm (top-cell coordinates of the wafer).

    Returns:
        (N booleans, True where a violation lies inside the die, edges included; the
        number of violations inside no die).
    """
    failing, hit = _classify(np.asarray(centres, float).reshape(-1, 2), die_size,
                             np.asarray(points, float).reshape(-1, 2))
    return failing, int((~hit).sum())


def _wafer_outline(radius: float, notch_depth: float, n: int = 720) -> np.ndarray:
    """Wafer outline with a 90° V notch at -Y (µm), as an N×2 array."""
    half = min(notch_depth, radius * 0.5)
    delta = math.asin(min(half / radius, 0.99))
    t = np.linspace(-math.pi / 2 + delta, 3 * math.pi / 2 - delta, n)
    circle = np.column_stack((radius * np.cos(t), radius * np.sin(t)))
    tip = np.array([[0.0, -radius + notch_depth]])
    return np.vstack((circle, tip))


def wafer_map(wafermap: Any, out: str | os.PathLike, report: Any = None,
              title: str | None = None, dpi: int = DPI) -> WaferMapped:
    """Draw a wafer map: die grid, usable circle, edge exclusion, wafer outline and notch.

    Args:
        wafermap: the ``<name>_wafermap.json`` of a wafer product (path or its dict):
            ``wafer_diameter``, ``edge_exclusion``, ``usable_radius``, ``die_size``,
            ``dies`` [{x, y, ...}] in µm; optional ``product``, ``die_count``,
            ``align_sites``, ``notch_depth`` (µm, default 1000).
        out: the picture to write, ``.png`` or ``.svg``.
        report: a check report of the wafer layout (Report, its JSON dict or a JSON
            path). With it, dies with a violation inside are red and the others green,
            and violations in no die are marked.
        title: picture title; default ``<product>: <N> dies``.
        dpi: picture resolution, pixels per inch.

    Returns:
        :class:`WaferMapped`: die, failing-die and violation counts.

    Raises:
        PreviewError: not a wafer map or not a check report, or a bad output suffix.
    """
    out_path = Path(out)
    if out_path.suffix.lower() not in (".png", ".svg"):
        raise PreviewError(f"{out_path}: the picture must be a .png or .svg file")
    doc, src = _wafer_doc(wafermap)
    centres = _die_centres(doc, src)
    try:
        diameter = float(doc["wafer_diameter"])
        w, h = (float(v) for v in doc["die_size"])
        exclusion = float(doc.get("edge_exclusion", 0.0))
        usable = float(doc.get("usable_radius", diameter / 2 - exclusion))
        notch = float(doc.get("notch_depth", 1000.0))
    except (TypeError, ValueError):
        raise PreviewError(f"{src}: wafer_diameter, edge_exclusion, usable_radius and "
                           "die_size must be numbers (µm)") from None
    radius = diameter / 2
    pts, total = violation_points(report)
    failing, hit = _classify(centres, (w, h), pts)
    outside = int((~hit).sum())
    n = len(centres)
    result = WaferMapped(out_path, n, int(failing.sum()), outside, len(pts), total)

    import matplotlib

    with matplotlib.rc_context({**_rc(), "hatch.color": "#b0b0b0", "hatch.linewidth": 0.6}):
        from matplotlib.collections import PolyCollection
        from matplotlib.lines import Line2D
        from matplotlib.patches import Circle, Patch, Polygon

        fig, ax, _aw, _ah = _figure(1.0, 1.0, 8, dpi)
        wafer = _wafer_outline(radius, notch)
        wrgb = _rgb(DEFAULT_LAYERS["WAFER"].color)
        ax.add_patch(Polygon(wafer, closed=True, facecolor="#e6e6e6", edgecolor="none",
                             hatch="////", zorder=1))
        ax.add_patch(Circle((0, 0), usable, facecolor="white", edgecolor="none", zorder=2))
        ax.add_patch(Polygon(wafer, closed=True, facecolor="none", edgecolor=(*wrgb, 1.0),
                             linewidth=1.2, zorder=4))
        ax.add_patch(Circle((0, 0), usable, facecolor="none", edgecolor="#2166ac",
                            linestyle=(0, (4, 3)), linewidth=0.9, zorder=6))
        ax.annotate("notch", xy=(0, -radius + notch * 0.5), xytext=(radius * 0.1, -radius * 1.02),
                    ha="left", va="center", fontsize=7, color="#333333", zorder=9,
                    arrowprops={"arrowstyle": "->", "color": "#333333", "linewidth": 0.8})
        handles: list[Any] = [
            Line2D([], [], color=(*wrgb, 1.0), linewidth=1.2,
                   label=f"wafer Ø {diameter / 1000:g} mm, notch at -Y"),
            Patch(facecolor="#e6e6e6", hatch="////", edgecolor="#999999",
                  label=f"edge exclusion {exclusion / 1000:g} mm"),
            Line2D([], [], color="#2166ac", linestyle=(0, (4, 3)), linewidth=0.9,
                   label=f"usable circle Ø {2 * usable / 1000:g} mm"),
        ]
        if n:
            rect = np.array([[-w / 2, -h / 2], [w / 2, -h / 2], [w / 2, h / 2], [-w / 2, h / 2]])
            quads = centres[:, None, :] + rect[None]
            groups: list[tuple[np.ndarray, str, str]]
            if report is None:
                groups = [(np.ones(n, dtype=bool), NEUTRAL_DIE_COLOR, f"die ({n})")]
            else:
                groups = [(~failing, PASS_COLOR, f"pass ({result.passing} dies)"),
                          (failing, FAIL_COLOR, f"fail ({result.failing} dies)")]
            lw = 0.25 if n > 2000 else 0.5
            for sel, color, label in groups:
                if sel.any():
                    ax.add_collection(PolyCollection(list(quads[sel]), facecolors=[color],
                                                     edgecolors=["#ffffff"], linewidths=lw,
                                                     zorder=5), autolim=False)
                handles.append(Patch(facecolor=color, edgecolor="#666666", label=label))
        if report is not None and outside:
            rows = pts[~hit]
            ax.scatter(rows[:, 0], rows[:, 1], marker="x", s=30, linewidths=1.2,
                       c="#000000", zorder=8)
            handles.append(Line2D([], [], marker="x", linestyle="none", color="#000000",
                                  label=f"violations in no die ({outside})"))
        sites = doc.get("align_sites") or []
        if sites:
            sp = np.array([(float(s["x"]), float(s["y"])) for s in sites]).reshape(-1, 2)
            ax.scatter(sp[:, 0], sp[:, 1], marker="P", s=60, c="#000000", zorder=7)
            handles.append(Line2D([], [], marker="P", linestyle="none", color="#000000",
                                  label=f"alignment sites ({len(sp)})"))
        lim = radius * 1.04
        ax.set_xlim(-lim, lim)
        ax.set_ylim(-lim, lim)
        ax.set_aspect("equal", adjustable="box")
        _unit_axes(ax, 2 * lim)
        _scale_bar(ax, 2 * lim, 2 * lim)
        product = doc.get("product") or Path(src).stem.removesuffix("_wafermap")
        count = int(doc.get("die_count", n))
        heading = title if title is not None else f"{product}: {count} dies"
        sub = (f"die {w / 1000:g} × {h / 1000:g} mm"
               + (f", step {float(doc['step'][0]) / 1000:g} × {float(doc['step'][1]) / 1000:g} mm"
                  if isinstance(doc.get("step"), (list, tuple)) and len(doc["step"]) == 2 else ""))
        if report is not None:
            sub += f" · check: {result.passing} pass, {result.failing} fail"
            if total > len(pts):
                sub += f" ({len(pts)} of {total} violations listed)"
        _titles(ax, heading, sub)
        _legend(ax, handles)
        result.path = _save(fig, out_path)
        result.window = (-lim, -lim, lim, lim)
        result.axes_px = _axes_px(fig, ax)
    return result


# ----------------------------------------------------------------------------- notebooks
class Picture:
    """A rendered PNG that shows itself in a notebook (``_repr_png_``).

    Args:
        png: the PNG bytes.
    """

    def __init__(self, png: bytes) -> None:
        self.png = png

    def _repr_png_(self) -> bytes:
        return self.png

    def save(self, path: str | os.PathLike) -> Path:
        """Write the PNG to ``path``."""
        from layoutgen.io import atomic_path

        path = Path(path)
        with atomic_path(path) as tmp:
            tmp.write_bytes(self.png)
        return path


def picture(layout: Any, **kwargs: Any) -> Picture:
    """A layout (gdstk cell, file, LayoutData) as a notebook picture.

    In Jupyter, ``picture(cell)`` as the last line of a notebook cell shows the layout.

    Args:
        layout: anything :func:`render` takes.
        kwargs: :func:`render`'s options (``layers``, ``window``, ``title``...).
    """
    import tempfile

    with tempfile.TemporaryDirectory(prefix="layoutgen-preview-") as tmp:
        png = Path(tmp) / "picture.png"
        render(layout, png, **kwargs)
        return Picture(png.read_bytes())
