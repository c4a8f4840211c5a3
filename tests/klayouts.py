"""Layouts for the checker's tests, built with KLayout (``klayout.db``), and KLayout oracles.

The checker reads with gdstk and judges with shapely; these layouts are written by
another tool (KLayout, database unit 1 nm), and the ``kl_*`` functions judge the same
files again with KLayout's own region operations (``merged(True, 0)`` and ``holes``
for closure, ``width_check``, ``space_check``, ``separation_check``,
``enclosing_check``, ``inside``/``interacting``, areas). A test asserts that the
checker's verdict and KLayout's agree with the verdict the layout was built to have.

Import from a test module as ``from klayouts import ...`` (pytest puts ``tests/`` on
``sys.path``, as for ``conftest``).

Two families of layouts:

* :func:`capped_die` — a die of the hermetic-cap process: DIE outline, ACTIVE, a
  CAP_SOLDER seal ring (drawn in one of many styles), CAP_METAL under it, CAP_CUT
  lanes outside it, a CAP_SPACER in the lanes, bond PADs under the lanes; a knob for
  each defect.
* :func:`csp_die` — a die of the embossed-ball-pad process: ball pads (PI3 hole over a
  PI2 concave opening with a convex ring standing in it, the ring's outer radius
  solved so that inside/ring area = the wanted ratio on the drawn polygons), RDL
  land and trace to a chip pad (PAD, PASSIVATION, PI1, PI2 openings), optional UBM
  and BALL; a knob for each defect.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import klayout.db as kdb

DBU = 0.001  # µm

LAYERS: dict[str, int] = {
    "DIE": 1, "ACTIVE": 2, "SCRIBE": 3, "PAD": 10, "PASSIVATION": 11, "PI1": 20, "PI2": 21,
    "PI3": 22, "RDL": 30, "BALL": 40, "UBM": 41, "SEAL_LAND": 50, "CAP_METAL": 60,
    "CAP_SOLDER": 61, "CAP_SPACER": 62, "CAP_CUT": 63,
}

_names = itertools.count()


def um(x: float) -> int:
    """µm -> database units (1 nm), rounded."""
    return int(round(x / DBU))


def box(x0: float, y0: float, x1: float, y1: float) -> kdb.Box:
    """An axis-parallel box, µm."""
    return kdb.Box(um(x0), um(y0), um(x1), um(y1))


def region(*shapes: Any) -> kdb.Region:
    """A region of the given boxes/polygons/regions."""
    r = kdb.Region()
    for s in shapes:
        if isinstance(s, kdb.Region):
            r += s
        else:
            r.insert(s)
    return r


def square_frame(cx: float, cy: float, inner: float, outer: float) -> kdb.Region:
    """A square ring centred at (cx, cy): outer half-size ``outer``, hole half-size
    ``inner`` (µm)."""
    return region(box(cx - outer, cy - outer, cx + outer, cy + outer)) - region(
        box(cx - inner, cy - inner, cx + inner, cy + inner))


def vertex_count(r: float, chord_error: float = 0.01) -> int:
    """Vertices of a circle of radius ``r`` with at most ``chord_error`` sagitta
    (a multiple of 8, at least 64)."""
    n = math.ceil(math.pi / math.acos(max(-1.0, 1 - chord_error / r)))
    return max(64, 8 * math.ceil(n / 8))


def disc(r: float, cx: float = 0.0, cy: float = 0.0, n: int | None = None,
         phase: float = 0.5) -> kdb.Polygon:
    """A polygonised disc (vertices on the circle, at angles 2π(i + phase)/n), µm."""
    n = n or vertex_count(r)
    pts = [kdb.Point(um(cx + r * math.cos(2 * math.pi * (i + phase) / n)),
                     um(cy + r * math.sin(2 * math.pi * (i + phase) / n))) for i in range(n)]
    return kdb.Polygon(pts)


# ---------------------------------------------------------------------- writer
class Lay:
    """A KLayout layout (dbu 1 nm) with a top cell ``TOP``."""

    def __init__(self, top: str = "TOP") -> None:
        self.ly = kdb.Layout()
        self.ly.dbu = DBU
        self.top = self.ly.create_cell(top)

    def li(self, name: str) -> int:
        """Layer index of a layer name of the default map."""
        return self.ly.layer(LAYERS[name], 0)

    def cell(self, prefix: str = "C") -> kdb.Cell:
        """A new cell with a unique name."""
        return self.ly.create_cell(f"{prefix}_{next(_names)}")

    def add(self, cell: kdb.Cell, layer: str, *shapes: Any) -> None:
        """Insert boxes, polygons, simple polygons, paths or regions on ``layer``."""
        sh = cell.shapes(self.li(layer))
        for s in shapes:
            sh.insert(s)

    def place(self, parent: kdb.Cell, child: kdb.Cell, x: float = 0.0, y: float = 0.0,
              rot: float = 0.0, mirror: bool = False, mag: float = 1.0, na: int = 1,
              nb: int = 1, a: tuple[float, float] = (0.0, 0.0),
              b: tuple[float, float] = (0.0, 0.0)) -> None:
        """Place ``child`` in ``parent`` (µm, degrees); an AREF when na*nb > 1."""
        t = kdb.DCplxTrans(mag, rot, mirror, x, y)
        if na * nb > 1:
            parent.insert(kdb.DCellInstArray(child.cell_index(), t, kdb.DVector(*a),
                                             kdb.DVector(*b), na, nb))
        else:
            parent.insert(kdb.DCellInstArray(child.cell_index(), t))

    def write(self, path: str | Path) -> Path:
        """Write GDS (or OASIS by the suffix)."""
        self.ly.write(str(path))
        return Path(path)


# ---------------------------------------------------------------------- capped die
#: capped die geometry (µm, from the die centre)
DIE_HALF = 1000.0
RING_INNER = 650.0
CUT_INNER = 780.0
RING_STYLES = ("region", "keyhole", "boxes", "trapezoids", "tiles", "path_flush",
               "path_square", "path_round", "path_closed", "bars_cells", "four_cells",
               "split_cells")


@dataclass(frozen=True)
class Cap:
    """Knobs of a capped die (µm). The defaults make a die that passes every check.

    Attributes:
        ring: how the seal ring is drawn (:data:`RING_STYLES`).
        width: ring width; the hole is ``inner`` half-size, the outside ``inner+width``.
        inner: half-size of the ring's hole.
        gap: width of an opening through the ring (0: none). For ``region``/``keyhole``
            a slot through the top side at x = gap_x; for piecewise styles the right
            piece stops ``gap`` short of the top piece.
        gap_x: x of the slot's left edge (µm from the die centre).
        corner_touch: the top and right sides touch only at the inner top-right corner.
        neck: width left at a notch cut into the top side from outside (None: none),
            20 µm long at its bottom.
        neck_shape: ``square`` (vertical walls) or ``chamfer`` (walls at 45°).
        active: ``inside``, ``overlap`` (reaches into the ring), ``outside`` (a second
            ACTIVE outside the ring), ``none``.
        active_half: half-size of the inside ACTIVE.
        metal: ``ok`` (encloses by ``metal_margin``), ``exact`` (= the ring), ``none``,
            ``partial`` (missing under the bottom side near x=0), ``narrow`` (outer
            edge of the solder sticks out by 5).
        spacer: ``cut`` (in a lane), ``none``, ``outside_cut``, ``on_ring``,
            ``in_cavity``, ``straddle`` (half in the lane), ``cut_edge`` (in the lane,
            on its inner edge), ``ring_edge`` (abutting the ring's outer edge).
        cut: ``lanes`` (a frame outside the ring), ``none``, ``through_seal`` (a lane
            across the right side into the cavity), ``touch_seal`` (lane frame abutting
            the ring), ``near`` (lane frame 1 µm from the ring).
        pads: ``exposed`` (bond pads under the lanes), ``covered`` (one more outside
            the seal, not under a lane), ``inside`` (one more inside the cavity), ``none``.
        pad_openings: open PASSIVATION, PI1 and PI2 over every PAD (device-wafer bond
            pads opened through the dielectrics).
        die: draw the DIE outline.
    """

    ring: str = "region"
    width: float = 80.0
    inner: float = RING_INNER
    gap: float = 0.0
    gap_x: float = 0.0
    corner_touch: bool = False
    neck: float | None = None
    neck_shape: str = "square"
    active: str = "inside"
    active_half: float = 600.0
    metal: str = "ok"
    metal_margin: float = 10.0
    spacer: str = "cut"
    cut: str = "lanes"
    pads: str = "exposed"
    pad_openings: bool = True
    die: bool = True


def _keyhole(cx: float, cy: float, a: float, b: float) -> kdb.SimplePolygon:
    """One boundary with a zero-width cut from the outside to the hole (left side)."""
    pts = [(-b, 0), (-b, -b), (b, -b), (b, b), (-b, b), (-b, 0), (-a, 0), (-a, a), (a, a),
           (a, -a), (-a, -a), (-a, 0)]
    return kdb.SimplePolygon([kdb.Point(um(cx + x), um(cy + y)) for x, y in pts], True)


def _poly(pts: Iterable[tuple[float, float]]) -> kdb.Polygon:
    return kdb.Polygon([kdb.Point(um(x), um(y)) for x, y in pts])


def _path(pts: Iterable[tuple[float, float]], w: float, ext: float, round_: bool = False
          ) -> kdb.Path:
    return kdb.Path([kdb.Point(um(x), um(y)) for x, y in pts], um(w), um(ext), um(ext), round_)


def draw_seal_ring(lay: Lay, cell: kdb.Cell, cx: float, cy: float, k: Cap) -> None:
    """Draw the CAP_SOLDER ring of ``k`` into ``cell`` centred at (cx, cy)."""
    a, w = k.inner, k.width
    b = a + w
    c = a + w / 2  # centreline
    g = k.gap
    add = lambda *s: lay.add(cell, "CAP_SOLDER", *s)  # noqa: E731
    if k.corner_touch:
        add(box(cx - b, cy - b, cx + b, cy - a), box(cx - b, cy - a, cx - a, cy + b),
            box(cx - b, cy + a, cx + a, cy + b), box(cx + a, cy - b, cx + b, cy + a))
        # top spans x <= a, right spans y <= a: they meet only at (a, a)
        return
    if k.ring in ("region", "keyhole"):
        if k.ring == "region":
            r = square_frame(cx, cy, a, b)
        else:
            r = region(_keyhole(cx, cy, a, b))
        if g > 0:
            r -= region(box(cx + k.gap_x, cy + a - 1, cx + k.gap_x + g, cy + b + 1))
        if k.neck is not None:
            y0, y1 = cy + a + k.neck, cy + b + 1
            if k.neck_shape == "square":
                r -= region(box(cx - 10, y0, cx + 10, y1))
            else:  # walls at 45°
                d = y1 - y0
                r -= region(_poly([(cx - 10, y0), (cx + 10, y0), (cx + 10 + d, y1),
                                   (cx - 10 - d, y1)]))
        if k.ring == "keyhole" and g == 0 and k.neck is None:
            add(_keyhole(cx, cy, a, b))  # as drawn: one boundary with a zero-width cut
        else:
            add(r)
        return
    if k.ring == "boxes":
        add(box(cx - b, cy - b, cx + b, cy - a), box(cx - b, cy + a, cx + b, cy + b),
            box(cx - b, cy - a, cx - a, cy + a), box(cx + a, cy - a, cx + b, cy + a - g))
    elif k.ring == "trapezoids":
        # four trapezoids meeting on the diagonals; the right one shifted out by ``gap``
        add(_poly([(cx - b, cy - b), (cx + b, cy - b), (cx + a, cy - a), (cx - a, cy - a)]),
            _poly([(cx + b, cy + b), (cx - b, cy + b), (cx - a, cy + a), (cx + a, cy + a)]),
            _poly([(cx - b, cy + b), (cx - b, cy - b), (cx - a, cy - a), (cx - a, cy + a)]),
            _poly([(cx + b + g, cy - b), (cx + b + g, cy + b), (cx + a + g, cy + a),
                   (cx + a + g, cy - a)]))
    elif k.ring == "tiles":
        # overlapping tiles: full-length sides overlapping at the corners, the bottom
        # side in two overlapping halves, and a patch over the left side
        add(box(cx - b, cy - b, cx + 50, cy - a), box(cx - 50, cy - b, cx + b, cy - a),
            box(cx - b, cy + a, cx + b, cy + b), box(cx - b, cy - b, cx - a, cy + b),
            box(cx + a, cy - b, cx + b, cy + a - g), box(cx - b, cy - 100, cx - a, cy + 100))
    elif k.ring == "path_flush":
        add(_path([(cx - b, cy - c), (cx + b, cy - c)], w, 0),
            _path([(cx - b, cy + c), (cx + b, cy + c)], w, 0),
            _path([(cx - c, cy - a), (cx - c, cy + a)], w, 0),
            _path([(cx + c, cy - a), (cx + c, cy + a - g)], w, 0))
    elif k.ring == "path_square":
        add(_path([(cx - c, cy - c), (cx + c, cy - c)], w, w / 2),
            _path([(cx - c, cy + c), (cx + c, cy + c)], w, w / 2),
            _path([(cx - c, cy - c), (cx - c, cy + c)], w, w / 2),
            _path([(cx + c, cy - a + w / 2), (cx + c, cy + a - g - w / 2)], w, w / 2))
    elif k.ring == "path_round":
        add(_path([(cx - c, cy - c), (cx + c, cy - c)], w, w / 2, True),
            _path([(cx - c, cy + c), (cx + c, cy + c)], w, w / 2, True),
            _path([(cx - c, cy - c), (cx - c, cy + c)], w, w / 2, True),
            _path([(cx + c, cy - c), (cx + c, cy + (c if g == 0 else a - g - w / 2))], w, w / 2,
                  True))
    elif k.ring == "path_closed":
        pts = [(cx - c, cy - c), (cx + c, cy - c), (cx + c, cy + c), (cx - c, cy + c),
               (cx - c, cy - c)]
        if g:  # open path: from the top-right corner round to just under the top side
            pts = [(cx + c, cy + c), (cx - c, cy + c), (cx - c, cy - c), (cx + c, cy - c),
                   (cx + c, cy + c - w - g)]
        add(_path(pts, w, w / 2))
    elif k.ring == "bars_cells":
        # one bar cell placed four times, rotated 0/90/180/270 about the centre: a pinwheel
        bar = lay.cell("SEAL_BAR")
        lay.add(bar, "CAP_SOLDER", box(-b, -b, a, -a))
        short = bar
        if g:
            short = lay.cell("SEAL_BAR_SHORT")
            lay.add(short, "CAP_SOLDER", box(-b, -b, a - g, -a))
        for rot in (0, 90, 180):
            lay.place(cell, bar, cx, cy, rot=rot)
        lay.place(cell, short, cx, cy, rot=270)
    elif k.ring == "four_cells":
        # four distinct bar cells (bottom, top, left, right), each drawn about its own
        # origin and placed by translation; the right one ``gap`` short at the top
        bars = [((-b, -w / 2, b, w / 2), (0.0, -c)), ((-b, -w / 2, b, w / 2), (0.0, c)),
                ((-w / 2, -a, w / 2, a), (-c, 0.0)), ((-w / 2, -a, w / 2, a - g), (c, 0.0))]
        for (x0, y0, x1, y1), (dx, dy) in bars:
            bar = lay.cell("SEAL_SIDE")
            lay.add(bar, "CAP_SOLDER", box(x0, y0, x1, y1))
            lay.place(cell, bar, cx + dx, cy + dy)
    elif k.ring == "split_cells":
        # the ring split into a left and a right half in two sub-cells
        left, right = lay.cell("SEAL_LEFT"), lay.cell("SEAL_RIGHT")
        lay.add(left, "CAP_SOLDER", square_frame(0, 0, a, b) & region(box(-b, -b, 0, b)))
        half = square_frame(0, 0, a, b) & region(box(0, -b, b, b))
        if g:
            half -= region(box(a, a - g, b, a))
        lay.add(right, "CAP_SOLDER", half)
        lay.place(cell, left, cx, cy)
        lay.place(cell, right, cx, cy)
    else:
        raise ValueError(f"unknown ring style {k.ring!r}")


def capped_die(lay: Lay, cell: kdb.Cell, cx: float = 0.0, cy: float = 0.0,
               k: Cap | None = None, **knobs: Any) -> None:
    """Draw a capped die centred at (cx, cy) into ``cell`` (knobs: :class:`Cap`)."""
    k = replace(k or Cap(), **knobs)
    a, b = k.inner, k.inner + k.width
    if k.die:
        lay.add(cell, "DIE", box(cx - DIE_HALF, cy - DIE_HALF, cx + DIE_HALF, cy + DIE_HALF))
    if k.active in ("inside", "outside"):
        h = k.active_half
        lay.add(cell, "ACTIVE", box(cx - h, cy - h, cx + h, cy + h))
    if k.active == "overlap":
        lay.add(cell, "ACTIVE", box(cx - a - 10, cy - a - 10, cx + a + 10, cy + a + 10))
    if k.active == "outside":
        lay.add(cell, "ACTIVE", box(cx + b + 10, cy + 100, cx + b + 40, cy + 300))
    draw_seal_ring(lay, cell, cx, cy, k)
    m = k.metal_margin
    if k.metal == "ok":
        lay.add(cell, "CAP_METAL", square_frame(cx, cy, a - m, b + m))
    elif k.metal == "exact":
        lay.add(cell, "CAP_METAL", square_frame(cx, cy, a, b))
    elif k.metal == "partial":
        lay.add(cell, "CAP_METAL", square_frame(cx, cy, a - m, b + m) - region(
            box(cx - 100, cy - b - m - 1, cx + 100, cy - a + m + 1)))
    elif k.metal == "narrow":
        lay.add(cell, "CAP_METAL", square_frame(cx, cy, a - m, b - 5))
    if k.cut == "lanes" or k.cut == "through_seal":
        lay.add(cell, "CAP_CUT", square_frame(cx, cy, CUT_INNER, DIE_HALF))
    if k.cut == "through_seal":
        lay.add(cell, "CAP_CUT", box(cx + 500, cy - 20, cx + DIE_HALF, cy + 20))
    if k.cut == "touch_seal":
        lay.add(cell, "CAP_CUT", square_frame(cx, cy, b, DIE_HALF))
    if k.cut == "near":
        lay.add(cell, "CAP_CUT", square_frame(cx, cy, b + 1, DIE_HALF))
    sp = {"cut": box(cx - 920, cy - 920, cx - 880, cy - 880),
          "outside_cut": box(cx + b + 15, cy - 300, cx + b + 40, cy - 260),
          "on_ring": box(cx - b + 10, cy - 20, cx - a - 10, cy + 20),
          "in_cavity": box(cx - a + 5, cy - 20, cx - a + 40, cy + 20) if k.active_half < a - 45
          else box(cx - 20, cy - 20, cx + 20, cy + 20),
          "straddle": box(cx + CUT_INNER - 20, cy - 300, cx + CUT_INNER + 20, cy - 260),
          "cut_edge": box(cx + CUT_INNER, cy - 300, cx + CUT_INNER + 40, cy - 260),
          "ring_edge": box(cx + b, cy - 300, cx + b + 20, cy - 260)}
    if k.spacer != "none":
        lay.add(cell, "CAP_SPACER", sp[k.spacer])
    if k.pads != "none":
        lay.add(cell, "PAD", box(cx + 840, cy - 40, cx + 920, cy + 40),
                box(cx - 920, cy - 40, cx - 840, cy + 40))
    if k.pads == "covered":
        lay.add(cell, "PAD", box(cx + b + 10, cy + 400, cx + b + 40, cy + 440))
    if k.pads == "inside":
        lay.add(cell, "PAD", box(cx + a - 30, cy - 20, cx + a - 5, cy + 20)
                if k.active_half < a - 35 else box(cx - 20, cy - 20, cx + 20, cy + 20))
    if k.pad_openings:
        for s in list(cell.shapes(lay.li("PAD")).each()):
            bb = s.bbox()
            opening = bb.enlarged(-um(4), -um(4))
            for layer in ("PASSIVATION", "PI1", "PI2"):
                lay.add(cell, layer, opening)


def capped_file(path: str | Path, **knobs: Any) -> Path:
    """One capped die in the top cell, written to ``path``."""
    lay = Lay()
    capped_die(lay, lay.top, **knobs)
    return lay.write(path)


def lattice(pitch: float, rot: float) -> tuple[tuple[float, float], tuple[float, float]]:
    """Array vectors of a square lattice of ``pitch`` turned by ``rot`` degrees."""
    t = math.radians(rot)
    return ((pitch * math.cos(t), pitch * math.sin(t)),
            (-pitch * math.sin(t), pitch * math.cos(t)))


def place_grid(lay: Lay, parent: kdb.Cell, good: kdb.Cell, nx: int, ny: int, pitch: float,
               rot: float = 0.0, mirror: bool = False, bad: kdb.Cell | None = None,
               bad_at: tuple[int, int] = (0, 0), origin: tuple[float, float] = (0.0, 0.0)
               ) -> list[tuple[float, float]]:
    """Fill an nx × ny lattice with AREFs of ``good`` (and ``bad`` at ``bad_at``).

    The lattice is turned by ``rot`` degrees; every die is placed with rotation ``rot``
    and ``mirror``. Returns the die centres (µm) in lattice order (i fastest).
    """
    va, vb = lattice(pitch, rot)

    def at(i: int, j: int) -> tuple[float, float]:
        return (origin[0] + i * va[0] + j * vb[0], origin[1] + i * va[1] + j * vb[1])

    def aref(i0: int, j0: int, ni: int, nj: int, cell: kdb.Cell) -> None:
        if ni > 0 and nj > 0:
            x, y = at(i0, j0)
            lay.place(parent, cell, x, y, rot=rot, mirror=mirror, na=ni, nb=nj, a=va, b=vb)

    if bad is None:
        aref(0, 0, nx, ny, good)
    else:
        bi, bj = bad_at
        aref(0, 0, bi, ny, good)
        aref(bi + 1, 0, nx - bi - 1, ny, good)
        aref(bi, 0, 1, bj, good)
        aref(bi, bj + 1, 1, ny - bj - 1, good)
        x, y = at(bi, bj)
        lay.place(parent, bad, x, y, rot=rot, mirror=mirror)
    return [at(i, j) for j in range(ny) for i in range(nx)]


def capped_array(path: str | Path, nx: int = 3, ny: int = 3, pitch: float = 2100.0,
                 rot: float = 0.0, mirror: bool = False, bad: dict[str, Any] | None = None,
                 bad_at: tuple[int, int] = (1, 1), good: dict[str, Any] | None = None
                 ) -> tuple[Path, list[tuple[float, float]]]:
    """An array of capped dies (one cell, AREFs), optionally one bad die among them.

    Returns the path and the die centres.
    """
    lay = Lay()
    g = lay.cell("DIE_OK")
    capped_die(lay, g, **(good or {}))
    b = None
    if bad is not None:
        b = lay.cell("DIE_BAD")
        capped_die(lay, b, **{**(good or {}), **bad})
    centres = place_grid(lay, lay.top, g, nx, ny, pitch, rot, mirror, b, bad_at)
    return lay.write(path), centres


# ---------------------------------------------------------------------- embossed CSP
@dataclass(frozen=True)
class Emb:
    """Knobs of one embossed ball pad with its RDL and chip pad (µm). The defaults pass
    every check, amkor-400 rules included.

    Attributes:
        ri: inner radius of the convex ring.
        ratio: wanted (area inside the ring) / (ring area), solved on the drawn polygons.
        ro: outer radius (overrides ``ratio``).
        nseg: ring segments (1: continuous).
        seg_gap: width of the gaps between segments.
        concave: radius of the concave PI2 opening.
        pi3: radius of the PI3 connection hole.
        ring: ``ok``, ``none`` (flat PI2 opening), ``no_pi2`` (no PI2 opening at all),
            ``touch`` (continuous ring moved to touch the concave edge at one vertex),
            ``cross`` (ring moved so that it crosses the concave edge).
        pi1_annulus: open PI1 in the concave annulus (between ring and concave edge).
        pad_open: ``all`` (PASSIVATION, PI1, PI2 open the chip pad), ``no_pi1``,
            ``no_pass``, ``no_pi2``, ``disjoint`` (the three openings do not overlap).
        rdl: ``ok``, ``cut`` (trace cut by ``rdl_gap``), ``corner`` (trace touches the
            chip pad's land only at a corner point), ``none`` (no RDL).
        rdl_gap: width of the cut in the trace.
        chip: chip pad centre relative to the ball pad.
        trace: trace width.
        pad_half, pass_half, pi1_half, pi2_half, land_half: half-sizes of the chip pad
            (PAD), its PASSIVATION, PI1, PI2 openings and the RDL land on it.
        ball_land: radius of the RDL land under the ball pad.
        ubm, ball: radii of UBM and BALL (0: not drawn).
    """

    ri: float = 60.0
    ratio: float = 1.0
    ro: float | None = None
    nseg: int = 1
    seg_gap: float = 10.0
    concave: float = 130.0
    pi3: float = 100.0
    ring: str = "ok"
    pi1_annulus: bool = False
    pad_open: str = "all"
    rdl: str = "ok"
    rdl_gap: float = DBU
    chip: tuple[float, float] = (0.0, 300.0)
    trace: float = 20.0
    pad_half: float = 40.0
    pass_half: float = 30.0
    pi1_half: float = 25.0
    pi2_half: float = 30.0
    land_half: float = 40.0
    ball_land: float = 140.0
    ubm: float = 120.0
    ball: float = 140.0


def ring_region(ri: float, ro: float, nseg: int, seg_gap: float, cx: float = 0.0,
                cy: float = 0.0, n: int | None = None) -> kdb.Region:
    """The convex ring: disc(ro) − disc(ri), cut into ``nseg`` segments by radial gaps."""
    n = n or vertex_count(max(ro, ri))
    r = region(disc(ro, cx, cy, n)) - region(disc(ri, cx, cy, n))
    if nseg > 1:
        for i in range(nseg):
            ang = 360.0 * (i + 0.5) / nseg
            slot = kdb.DPolygon(kdb.DBox(0, -seg_gap / 2, ro + 10, seg_gap / 2))
            slot = slot.transformed(kdb.DCplxTrans(1, ang, False, cx, cy))
            r -= region(slot.to_itype(DBU))
    return r


@functools.cache
def solve_outer_radius(ri: float, ratio: float, nseg: int = 1, seg_gap: float = 10.0,
                       n: int | None = None) -> float:
    """Outer radius (µm, on the 1 nm grid) making inside/ring = ``ratio`` on the drawn
    polygons: inside = the area enclosed by the ring's inner edge (the disc polygon
    of ``ri``, gaps bridged by chords), ring = the drawn ring's area."""
    n = n or vertex_count(ri * 3)
    inside = inner_edge_area_of(ring_region(ri, ri * 2, nseg, seg_gap, n=n), (0.0, 0.0), ri + 1.0)
    want = inside / ratio
    lo, hi = um(ri) + 1, um(ri * 4)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if ring_region(ri, mid * DBU, nseg, seg_gap, n=n).area() * DBU * DBU < want:
            lo = mid
        else:
            hi = mid
    a_lo = ring_region(ri, lo * DBU, nseg, seg_gap, n=n).area() * DBU * DBU
    a_hi = ring_region(ri, hi * DBU, nseg, seg_gap, n=n).area() * DBU * DBU
    return (lo if abs(a_lo - want) <= abs(a_hi - want) else hi) * DBU


def inner_edge_area_of(ring: kdb.Region, center: tuple[float, float], r_mid: float) -> float:
    """Area (µm²) of the polygon through the ring's vertices closer to ``center`` than
    ``r_mid``, in angular order: the inner edge with the gaps bridged by chords."""
    pts = []
    for poly in ring.each():
        for ring_pts in [list(poly.each_point_hull())] + [list(poly.each_point_hole(h))
                                                          for h in range(poly.holes())]:
            for p in ring_pts:
                x, y = p.x * DBU - center[0], p.y * DBU - center[1]
                if math.hypot(x, y) < r_mid:
                    pts.append((math.atan2(y, x), x, y))
    pts.sort()
    area = 0.0
    for (_, x0, y0), (_, x1, y1) in zip(pts, pts[1:] + pts[:1], strict=True):
        area += x0 * y1 - x1 * y0
    return abs(area) / 2


def embossed_pad(lay: Lay, cell: kdb.Cell, cx: float = 0.0, cy: float = 0.0,
                 e: Emb | None = None, **knobs: Any) -> tuple[float, float]:
    """Draw one ball pad at (cx, cy) with its chip pad and RDL; returns the chip pad centre."""
    e = replace(e or Emb(), **knobs)
    n = vertex_count(max(e.concave, e.ball_land, e.ball, e.ubm, 100.0))
    add = lambda layer, *s: lay.add(cell, layer, *s)  # noqa: E731
    # ---- embossed portion: PI2 opening = concave disc − ring
    ro = e.ro if e.ro is not None else solve_outer_radius(e.ri, e.ratio, e.nseg, e.seg_gap, n)
    concave = region(disc(e.concave, cx, cy, n, phase=0.0))
    if e.ring == "touch":
        # continuous ring whose outer polygon shares its vertex at angle 0 with the concave
        off = e.concave - ro
        ring = region(disc(ro, cx + off, cy, n, 0.0)) - region(disc(e.ri, cx + off, cy, n, 0.0))
    elif e.ring == "cross":
        off = e.concave - ro + 8.0
        ring = ring_region(e.ri, ro, e.nseg, e.seg_gap, cx + off, cy, n)
    else:
        ring = ring_region(e.ri, ro, e.nseg, e.seg_gap, cx, cy, n)
    if e.ring == "none":
        add("PI2", concave)
    elif e.ring != "no_pi2":
        add("PI2", concave - ring)
    add("PI3", disc(e.pi3, cx, cy, n))
    if e.pi1_annulus:
        rr = (ro + e.concave) / 2
        add("PI1", box(cx - 4, cy + rr - 4, cx + 4, cy + rr + 4))
    if e.ubm:
        add("UBM", disc(e.ubm, cx, cy, n))
    if e.ball:
        add("BALL", disc(e.ball, cx, cy, n))
    # ---- chip pad stack
    px, py = cx + e.chip[0], cy + e.chip[1]
    if e.rdl == "corner":
        px += e.trace - um(e.trace / 2) * DBU + e.land_half  # land's lower-left corner on
        # the trace's top-right corner
    h = e.pad_half
    add("PAD", box(px - h, py - h, px + h, py + h))
    openings = {"PASSIVATION": e.pass_half, "PI1": e.pi1_half, "PI2": e.pi2_half}
    shift = {"PASSIVATION": (-h + 8, 0.0), "PI1": (0.0, 0.0), "PI2": (h - 8, 0.0)}
    for layer, oh in openings.items():
        if e.pad_open == f"no_{'pass' if layer == 'PASSIVATION' else layer.lower()}":
            continue
        dx, dy = shift[layer] if e.pad_open == "disjoint" else (0.0, 0.0)
        oh2 = 6.0 if e.pad_open == "disjoint" else oh
        add(layer, box(px + dx - oh2, py + dy - oh2, px + dx + oh2, py + dy + oh2))
    # ---- RDL: land under the ball pad, trace, land on the chip pad
    if e.rdl != "none":
        lh, t = e.land_half, e.trace / 2
        rdl = [disc(e.ball_land, cx, cy, n), box(px - lh, py - lh, px + lh, py + lh)]
        tl = um(t) * DBU  # the trace's left edge on the grid, its right edge trace further
        tr = e.trace - tl
        if e.rdl == "corner":
            rdl.append(box(cx - tl, cy, cx + tr, py - lh))
        elif px == cx:
            rdl.append(box(cx - tl, cy, cx + tr, py))
        else:  # up from the ball, then across to the chip pad
            rdl += [box(cx - tl, cy, cx + tr, py + tr),
                    box(min(cx, px) - tl, py - tl, max(cx, px) + tr, py + tr)]
        if e.rdl == "cut":
            y0 = cy + e.ball_land + 20
            add("RDL", region(*rdl) - region(box(cx - tl - 1, y0, cx + tr + 1, y0 + e.rdl_gap)))
        else:
            add("RDL", *rdl)
    return px, py


#: CSP die geometry (µm, from the die centre): two ball pads, chip pads above them
CSP_HALF = (500.0, 450.0)
CSP_BALLS = ((-250.0, -50.0), (250.0, -50.0))


def csp_die(lay: Lay, cell: kdb.Cell, cx: float = 0.0, cy: float = 0.0,
            pads: Iterable[dict[str, Any]] | None = None, die: tuple[float, float] | None = None,
            balls: Iterable[tuple[float, float]] = CSP_BALLS, short: bool = False,
            extra: Iterable[tuple[str, Any]] = (), **common: Any) -> list[tuple[float, float]]:
    """Draw a CSP die centred at (cx, cy): one ball pad per ``balls`` entry (knobs:
    ``common`` for all, ``pads[i]`` for one). ``short`` bridges the two traces with RDL.
    ``extra``: (layer, shape) drawn as well (coordinates relative to the die centre).
    Returns the chip pad centres."""
    balls = list(balls)
    per = list(pads) if pads is not None else [{} for _ in balls]
    per += [{}] * (len(balls) - len(per))
    hx, hy = die if die is not None else CSP_HALF
    if hx > 0:
        lay.add(cell, "DIE", box(cx - hx, cy - hy, cx + hx, cy + hy))
    chips = []
    for (bx, by), kn in zip(balls, per, strict=True):
        chips.append(embossed_pad(lay, cell, cx + bx, cy + by, **{**common, **kn}))
    if short:  # an RDL bar across the traces of the first and the last ball pad
        y = cy + balls[0][1] + 190
        lay.add(cell, "RDL", box(cx + balls[0][0], y - 10, cx + balls[-1][0], y + 10))
    for layer, shape in extra:
        lay.add(cell, layer, shape.moved(kdb.Vector(um(cx), um(cy))))
    return chips


def csp_file(path: str | Path, **kw: Any) -> Path:
    """One CSP die in the top cell, written to ``path``."""
    lay = Lay()
    csp_die(lay, lay.top, **kw)
    return lay.write(path)


# ---------------------------------------------------------------------- oracles
@dataclass
class Flat:
    """A layout read back with KLayout and flattened: one merged region per layer, and
    every DIE outline as placed (not merged)."""

    layout: kdb.Layout
    regions: dict[str, kdb.Region] = field(default_factory=dict)
    dies: list[kdb.Polygon] = field(default_factory=list)

    def __getitem__(self, name: str) -> kdb.Region:
        return self.regions[name]


def read_flat(path: str | Path) -> Flat:
    """Read ``path`` with KLayout and flatten every layer of the default map."""
    ly = kdb.Layout()
    ly.read(str(path))
    assert abs(ly.dbu - DBU) < 1e-12
    top = ly.top_cell()
    f = Flat(ly)
    for name, num in LAYERS.items():
        li = ly.find_layer(num, 0)
        r = kdb.Region()  # a flat copy (a Region made from the iterator stays bound to
        if li is not None:  # the layout, and reads nothing once the layout is gone)
            r.insert(top.begin_shapes_rec(li))
        f.regions[name] = r
    li = ly.find_layer(LAYERS["DIE"], 0)
    if li is not None:
        it = top.begin_shapes_rec(li)
        while not it.at_end():
            f.dies.append(it.shape().polygon.transformed(it.trans()))
            it.next()
    return f


def polys(r: kdb.Region) -> list[kdb.Region]:
    """Connected components (pieces touching at a point are separate) as regions."""
    return [region(p) for p in r.merged(True, 0).each()]


def filled(r: kdb.Region) -> kdb.Region:
    """``r`` with every hole filled."""
    m = r.merged(True, 0)
    return (m + m.holes()).merged()


def centre(r: kdb.Region) -> tuple[float, float]:
    """Centre of the bounding box, µm."""
    b = r.bbox()
    return ((b.left + b.right) / 2 * DBU, (b.bottom + b.top) / 2 * DBU)


def kl_seal_closed(f: Flat, heal: int = 0) -> list[tuple[tuple[float, float], bool]]:
    """Per ACTIVE area: (centre, lies in the hole of a closed CAP_SOLDER ring).

    ``heal`` (database units): close seams up to twice that wide first. KLayout's
    flattening rounds every vertex of a rotated placement to the 1 nm grid, which
    leaves sub-nm seams between pieces that abut exactly; use it only on layouts
    whose designed gaps are far wider.
    """
    solder = f["CAP_SOLDER"]
    if heal:
        solder = solder.sized(heal).sized(-heal)
    holes = solder.merged(True, 0).holes()
    return [(centre(a), not a.inside(holes).is_empty()) for a in polys(f["ACTIVE"])]


EUCLIDIAN = kdb.Region.Euclidian
#: edge pairs judged on the parts that face each other: what a width check of a
#: polygonised circle needs (Euclidean flags pairs of chords at right angles)
PROJECTION = kdb.Region.Projection


def kl_width_ok(r: kdb.Region, limit: float, metrics: Any = EUCLIDIAN) -> bool:
    """No part of ``r`` narrower than ``limit`` (width check)."""
    return r.width_check(um(limit), False, metrics).is_empty()


def kl_space_ok(r: kdb.Region, limit: float, metrics: Any = EUCLIDIAN) -> bool:
    """No two parts of ``r`` closer than ``limit`` (space check, notches included)."""
    return r.space_check(um(limit), False, metrics).is_empty()


def kl_clearance_ok(f: Flat, limit: float) -> bool:
    """Every ACTIVE at least ``limit`` from CAP_SOLDER, not overlapping it."""
    a, s = f["ACTIVE"], f["CAP_SOLDER"]
    return a.separation_check(s, um(limit)).is_empty() and (a & s).is_empty()


def kl_enclosed(inner: kdb.Region, outer: kdb.Region, d: float,
                metrics: Any = EUCLIDIAN) -> bool:
    """``inner`` lies in ``outer`` with at least ``d`` all round."""
    if not (inner - outer).is_empty():
        return False
    return d <= 0 or outer.enclosing_check(inner, um(d), False, metrics).is_empty()


def kl_spacers(f: Flat) -> tuple[bool, bool]:
    """(every spacer inside CAP_CUT, no spacer touching a seal ring or its cavity)."""
    sp = f["CAP_SPACER"]
    return (sp.not_inside(f["CAP_CUT"]).is_empty(),
            sp.interacting(filled(f["CAP_SOLDER"])).is_empty())


def kl_cut_off_seal(f: Flat) -> bool:
    """No CAP_CUT touching a seal ring or its cavity."""
    return f["CAP_CUT"].interacting(filled(f["CAP_SOLDER"])).is_empty()


def kl_pads_exposed(f: Flat) -> bool:
    """Every PAD outside the seal rings lies under CAP_CUT."""
    outside = f["PAD"].not_interacting(filled(f["CAP_SOLDER"]))
    return outside.not_inside(f["CAP_CUT"]).is_empty()


@dataclass
class KEmboss:
    """An embossed portion as KLayout sees it."""

    hole: kdb.Region
    concave: kdb.Region  # the concave opening, its convex hull
    ring: kdb.Region     # PI2 standing inside it
    inside: float        # area enclosed by the ring's inner edge, µm²
    ring_area: float     # µm²

    @property
    def ratio(self) -> float:
        return self.inside / self.ring_area if self.ring_area else math.inf

    @property
    def segments(self) -> int:
        return len(polys(self.ring))

    def touches_edge(self) -> bool:
        """The ring touches (or crosses) the concave opening's edge."""
        outside = region(self.concave.bbox().enlarged(um(10), um(10))) - self.concave
        return not (self.ring.sized(1) & outside).is_empty()


def kl_emboss(f: Flat) -> list[KEmboss | None]:
    """Per PI3 hole: its embossed portion, or None when no PI2 opening lies under it
    or nothing stands in the opening (flat).

    The concave opening is the convex hull of the PI2 openings under the hole (the
    concave portion is circular); the ring is the PI2 standing inside it.
    """
    out: list[KEmboss | None] = []
    pi2 = f["PI2"]
    comps = polys(pi2)
    for hole in polys(f["PI3"]):
        opens = [p for p in comps if (p & hole).area() > 0]
        if not opens:
            out.append(None)
            continue
        conc = region(*[_convex_hull(poly) for p in opens for poly in p.each()]).merged()
        # drop the slivers between the hull and the drawn circle (its vertices are
        # rounded to the grid, so it is not exactly convex)
        ring = region(*[p for p in (conc - pi2).merged(True, 0).each()
                        if p.area() * DBU * DBU > 1.0])
        if ring.is_empty():
            out.append(None)
            continue
        c = centre(conc)  # the concave opening is a disc: its box is centred
        rs = [math.hypot(p.x * DBU - c[0], p.y * DBU - c[1]) for poly in ring.each()
              for p in poly.each_point_hull()]
        ps = list(ring.each())
        if len(ps) == 1 and ps[0].holes():
            inside = max(region(kdb.Polygon(list(ps[0].each_point_hole(h)))).area()
                         for h in range(ps[0].holes())) * DBU * DBU
        else:
            # the inner edge: vertices within 1 µm of the smallest radius (the gap sides
            # run radially and may carry extra vertices where a writer keyholed)
            inside = inner_edge_area_of(ring, c, min(rs) + 1.0)
        out.append(KEmboss(hole, conc, ring, inside, ring.area() * DBU * DBU))
    return out


def _convex_hull(poly: kdb.Polygon) -> kdb.Polygon:
    """Convex hull of a polygon's outer boundary (monotone chain, integer)."""
    pts = sorted({(p.x, p.y) for p in poly.each_point_hull()})

    def cross(o: tuple[int, int], a: tuple[int, int], b: tuple[int, int]) -> int:
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    lower: list[tuple[int, int]] = []
    for p in pts:
        while len(lower) >= 2 and cross(lower[-2], lower[-1], p) <= 0:
            lower.pop()
        lower.append(p)
    upper: list[tuple[int, int]] = []
    for p in reversed(pts):
        while len(upper) >= 2 and cross(upper[-2], upper[-1], p) <= 0:
            upper.pop()
        upper.append(p)
    return kdb.Polygon([kdb.Point(x, y) for x, y in lower[:-1] + upper[:-1]])


def kl_exposes_pi1_ok(f: Flat, e: KEmboss) -> bool:
    """PI1 is not opened in the concave annulus (between the ring and the edge)."""
    pts = [pt for p in e.ring.each() for pt in p.each_point_hull()]
    ring_and_inside = region(_convex_hull(kdb.Polygon(pts))) + e.ring
    annulus = e.concave - ring_and_inside
    return (annulus & f["PI1"]).is_empty()


def kl_pad_stacks(f: Flat) -> list[tuple[kdb.Region, kdb.Region]]:
    """Each chip pad with PAD ∩ PASSIVATION ∩ PI1 ∩ PI2 on it."""
    return [(p, p & f["PASSIVATION"] & f["PI1"] & f["PI2"]) for p in polys(f["PAD"])]


def kl_nets(f: Flat) -> list[tuple[kdb.Region, int, int]]:
    """Each RDL net (touching at a point: separate) with the number of PI3 holes over it
    and of exposed chip pads under it (overlap of positive area)."""
    holes = polys(f["PI3"])
    stacks = [s for _, s in kl_pad_stacks(f) if not s.is_empty()]
    out = []
    for net in polys(f["RDL"]):
        nb = sum(1 for h in holes if (net & h).area() > 0)
        np_ = sum(1 for s in stacks if (net & s).area() > 0)
        out.append((net, nb, np_))
    return out


def kl_ball_connected(f: Flat) -> list[bool]:
    """Per PI3 hole: an RDL net under it reaches an exposed chip pad."""
    nets = kl_nets(f)
    res = []
    for h in polys(f["PI3"]):
        res.append(any(np_ > 0 for net, _, np_ in nets if (net & h).area() > 0))
    return res


def kl_scribe(f: Flat, width: float) -> tuple[bool, bool]:
    """(no two die outlines overlap, every lane between neighbours >= width)."""
    overlap_ok, lanes_ok = True, True
    for p, q in itertools.combinations(f.dies, 2):
        rp, rq = region(p), region(q)
        if (rp & rq).area() > 0:
            overlap_ok = False
        elif not rp.separation_check(rq, um(width)).is_empty() or rp.interacting(rq).count():
            lanes_ok = False
    return overlap_ok, lanes_ok


def _centres(r: kdb.Region) -> list[tuple[float, float]]:
    return [centre(p) for p in polys(r)]


def _dist_to_edge(pt: tuple[float, float], die: kdb.Polygon) -> float:
    best = math.inf
    for e in die.each_edge():
        x0, y0, x1, y1 = e.p1.x * DBU, e.p1.y * DBU, e.p2.x * DBU, e.p2.y * DBU
        dx, dy = x1 - x0, y1 - y0
        t = max(0.0, min(1.0, ((pt[0] - x0) * dx + (pt[1] - y0) * dy) / (dx * dx + dy * dy)))
        best = min(best, math.hypot(x0 + t * dx - pt[0], y0 + t * dy - pt[1]))
    return best


def kl_drc_ok(f: Flat, check_id: str, rules: dict[str, float]) -> bool:
    """KLayout's verdict on one ``drc.*`` check of the checker (amkor rule keys), with
    projection metrics (the layers hold polygonised circles)."""
    R, P = f.regions, PROJECTION
    if check_id == "drc.pi1.width":
        return kl_width_ok(R["PI1"], rules["pi1.min_width"], P)
    if check_id == "drc.pi1.space":
        return kl_space_ok(R["PI1"], rules["pi1.min_space"], P)
    if check_id == "drc.pad.encloses_pi1":
        return kl_enclosed(R["PI1"].overlapping(R["PAD"]), R["PAD"], rules["pad.encloses_pi1"], P)
    if check_id == "drc.rdl.width":
        return kl_width_ok(R["RDL"], rules["rdl.min_width"], P)
    if check_id == "drc.rdl.space":
        return kl_space_ok(R["RDL"], rules["rdl.min_space"], P)
    if check_id == "drc.rdl.encloses_pi1":
        return kl_enclosed(R["PI1"].overlapping(R["RDL"]), R["RDL"], rules["rdl.encloses_pi1"], P)
    if check_id == "drc.pi3.width":
        return kl_width_ok(R["PI3"], rules["pi3.min_width"], P)
    if check_id == "drc.pi1_pi3.space":
        return (R["PI1"] & R["PI3"]).is_empty() and R["PI1"].separation_check(
            R["PI3"], um(rules["pi1_pi3.min_space"]), False, P).is_empty()
    if check_id == "drc.ubm.width":
        return kl_width_ok(R["UBM"], rules["ubm.min_width"], P)
    if check_id == "drc.ubm.encloses_pi3":
        return kl_enclosed(R["PI3"].overlapping(R["UBM"]), R["UBM"], rules["ubm.encloses_pi3"], P)
    if check_id == "drc.rdl.encloses_ubm":
        return kl_enclosed(R["UBM"].overlapping(R["RDL"]), R["RDL"], rules["rdl.encloses_ubm"], P)
    if check_id == "drc.pi1_ubm.space":
        return (R["PI1"] & R["UBM"]).is_empty() and R["PI1"].separation_check(
            R["UBM"], um(rules["pi1_ubm.min_space"]), False, P).is_empty()
    if check_id == "drc.ubm.die_edge":
        lim = rules["ubm.center_to_die_edge"]
        return all(min(_dist_to_edge(c, d) for d in f.dies) >= lim - DBU / 4
                   for c in _centres(R["UBM"]))
    if check_id == "drc.ball.width":
        return kl_width_ok(R["BALL"], rules["ball.min_width"], P)
    if check_id == "drc.ball.pitch":
        cs = _centres(R["BALL"])
        return all(math.dist(p, q) >= rules["ball.pitch"] - DBU / 4
                   for p, q in itertools.combinations(cs, 2))
    if check_id == "drc.ball.die_edge":
        dies = region(*f.dies)
        return kl_enclosed(R["BALL"], dies, rules["ball.to_die_edge"], P)
    raise KeyError(check_id)
