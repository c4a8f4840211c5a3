"""Scribe lanes of the device wafer and the cap's cut regions (claims 8, 9, 12 G, 14).

A die cell is centred on its origin. Around it:

* SCRIBE: the die's half of the scribe lanes, a frame ``scribe_width / 2`` wide, so
  that neighbouring dies on the step ``die + scribe_width`` make whole lanes.
* CAP_CUT: the cap regions cut away after sealing: the cap's dicing lanes, each
  ``lane_width`` wide and centred on a scribe lane, drawn whole on all four sides by
  every die (neighbours draw the same lane on top of each other, so a die at the wafer
  edge still has its lanes), joined with windows over the chip's bond pads so that the
  pads are exposed once the cap is cut.

Top view of one corner (µm)::

            lane centre line
                 :
    +------------:---+   <- CAP_CUT lane: lane_width, centred on the scribe lane
    |   SCRIBE   : | |
    +--------+   : | |   <- die edge; SCRIBE is the die's half-lane (scribe_width / 2)
    |  DIE   |   : | |
    |     [window over the PAD row, joined to the lane]
"""

from __future__ import annotations

from collections.abc import Sequence

import gdstk

from layoutgen.geometry import GRID, rect, snapped
from layoutgen.layers import DEFAULT_LAYERS, LayerMap
from layoutgen.naming import cell
from layoutgen.spec import Param

__all__ = ["DIE_SIZE_PARAMS", "LANE_PARAMS", "cap_cut", "cut_lane_bounds", "cut_polygons",
           "pad_window", "scribe_lanes"]

SIDES = ("left", "right", "bottom", "top")

#: the lanes' parameters (validated by the cells and by the product specs alike)
LANE_PARAMS: dict[str, Param] = {p.key: p for p in (
    Param("scribe.width", 80.0, "width of the scribe lanes between dies (SCRIBE); the die "
          "step is the die size plus this", low=0, low_open=True),
    Param("cut.lane_width", 120.0, "width of the cap's cut lanes (CAP_CUT), centred on the "
          "scribe lanes", low=0, low_open=True),
    Param("cut.pad_enclosure", 10.0, "the cap window (CAP_CUT) beyond the bond pads (PAD) it "
          "exposes", low=0),
    Param("cut.seal_space", 20.0, "minimum space from any CAP_CUT region to a solder seal "
          "ring", low=0, low_open=True),
)}


#: the die size (the die cells of :mod:`cells.capped` declare them through this)
DIE_SIZE_PARAMS: dict[str, Param] = {p.key: p for p in (
    Param("die.width", 2000.0, "die width (x), without the scribe lane", low=0, low_open=True),
    Param("die.height", 2000.0, "die height (y), without the scribe lane", low=0,
          low_open=True),
)}


def _die(key: str, value: object) -> float:
    """Validate a die size (``die.width`` or ``die.height``)."""
    return DIE_SIZE_PARAMS[key].validate(value)


def cut_lane_bounds(die_width: float, die_height: float, scribe_width: float,
                    lane_width: float) -> tuple[float, float, float, float]:
    """Half-sizes of the cut-lane frame: (outer x, outer y, inner x, inner y), µm.

    The lanes run from ``inner`` to ``outer`` on each side of a die centred on the origin.
    """
    cx = die_width / 2 + scribe_width / 2
    cy = die_height / 2 + scribe_width / 2
    return (cx + lane_width / 2, cy + lane_width / 2, cx - lane_width / 2,
            cy - lane_width / 2)


def pad_window(side: str, row: tuple[float, float, float, float], enclosure: float,
               lane_outer: tuple[float, float]) -> tuple[float, float, float, float]:
    """The cap window over one row of bond pads, joined to the cut lane beside it.

    Args:
        side: which die edge the row is on: ``left``, ``right``, ``bottom`` or ``top``.
        row: bounding box (x0, y0, x1, y1) of the row's pads, µm.
        enclosure: the window beyond the pads, µm.
        lane_outer: outer half-sizes (x, y) of the cut-lane frame, µm: the window runs
            out to there, so it overlaps the lane and joins it.

    Returns:
        The window (x0, y0, x1, y1), µm.
    """
    x0, y0, x1, y1 = row[0] - enclosure, row[1] - enclosure, row[2] + enclosure, \
        row[3] + enclosure
    ox, oy = lane_outer
    if side == "right":
        return (x0, y0, ox, y1)
    if side == "left":
        return (-ox, y0, x1, y1)
    if side == "top":
        return (x0, y0, x1, oy)
    if side == "bottom":
        return (x0, -oy, x1, y1)
    raise ValueError(f"side must be one of {SIDES}, got {side!r}")


@cell("scribe_lanes")
def scribe_lanes(*, die_width: float = 2000.0, die_height: float = 2000.0,
                 scribe_width: float = 80.0, layers: LayerMap = DEFAULT_LAYERS) -> gdstk.Cell:
    """The die's half of the scribe lanes (SCRIBE): one frame around the die.

    Args:
        die_width: die width (x), µm; the die is centred on the origin.
        die_height: die height (y), µm.
        scribe_width: width of a whole scribe lane, µm; the frame is half of it.
        layers: the layer map.
    """
    w = _die("die.width", die_width)
    h = _die("die.height", die_height)
    s = LANE_PARAMS["scribe.width"].validate(scribe_width)
    ld = layers.ld("SCRIBE")
    outer = rect(-w / 2 - s / 2, -h / 2 - s / 2, w / 2 + s / 2, h / 2 + s / 2)
    inner = rect(-w / 2, -h / 2, w / 2, h / 2)
    c = gdstk.Cell("scribe_lanes")
    c.add(*snapped(gdstk.boolean(outer, inner, "not", precision=GRID), **ld))
    return c


def cut_polygons(die_width: float, die_height: float, scribe_width: float,
                 lane_width: float,
                 windows: Sequence[Sequence[float]] = ()) -> list[gdstk.Polygon]:
    """CAP_CUT of one die as merged polygons on layer 0 (lanes and windows), µm."""
    ox, oy, ix, iy = cut_lane_bounds(die_width, die_height, scribe_width, lane_width)
    shapes = [rect(-ox, -oy, ox, oy)]
    frame = gdstk.boolean(shapes, rect(-ix, -iy, ix, iy), "not", precision=GRID) \
        if ix > 0 and iy > 0 else shapes
    wins = [rect(*w) for w in windows]
    return gdstk.boolean(frame, wins, "or", precision=GRID) if wins else frame


@cell("cap_cut")
def cap_cut(*, die_width: float = 2000.0, die_height: float = 2000.0,
            scribe_width: float = 80.0, lane_width: float = 120.0,
            windows: Sequence[Sequence[float]] = (),
            layers: LayerMap = DEFAULT_LAYERS) -> gdstk.Cell:
    """The cap regions cut away after sealing (CAP_CUT) around one die.

    The cut lanes on all four sides (whole lanes, centred on the scribe lanes) and the
    given windows, merged into one region.

    Args:
        die_width: die width (x), µm; the die is centred on the origin.
        die_height: die height (y), µm.
        scribe_width: width of a scribe lane, µm (sets where the lane centres are).
        lane_width: width of a cut lane, µm.
        windows: extra cut rectangles (x0, y0, x1, y1), µm: windows over bond pads
            (see :func:`pad_window`).
        layers: the layer map.
    """
    w = _die("die.width", die_width)
    h = _die("die.height", die_height)
    s = LANE_PARAMS["scribe.width"].validate(scribe_width)
    lw = LANE_PARAMS["cut.lane_width"].validate(lane_width)
    c = gdstk.Cell("cap_cut")
    c.add(*snapped(cut_polygons(w, h, s, lw, windows), **layers.ld("CAP_CUT")))
    return c
