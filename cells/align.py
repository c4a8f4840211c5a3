"""Alignment marks for bonding the cap face down onto the device wafer.

Each mark pair has a device mark (a cross on ALIGN) and a cap mark (four squares in the
cross's quadrants, made in the cap metallization, CAP_METAL). Like every cap layer the
cap mark is drawn in device-wafer coordinates, exactly where it must land: the cap
masks are mirrored (x -> -x) for the face-down flip, so after bonding the cap mark
frames the device cross with ``gap`` all round. The top-right square has a notch, so a
mark that was not mirrored (or mirrored twice) shows at once::

    +----+  |  +--+          device cross: ALIGN, ``size`` long, ``arm_width`` wide
    |    |  |  |  +-+        cap squares: CAP_METAL, ``gap`` from the cross
    +----+  |  +----+
    --------+--------
    +----+  |  +----+
    |    |  |  |    |
    +----+  |  +----+

Infrared alignment looks through the silicon, and metal is opaque to it: a square
window ``keepout`` wide around each pair holds no metal (CAP_METAL, SEAL_LAND, PAD)
except the cap mark itself. On a wafer, mark pairs take the place of dies at two or
four sites far apart (:func:`align_site`).
"""

from __future__ import annotations

import gdstk

from cells.lanes import LANE_PARAMS, cap_cut, scribe_lanes
from layoutgen.errors import ParameterError
from layoutgen.geometry import GRID, rect, snapped
from layoutgen.layers import DEFAULT_LAYERS, LayerMap
from layoutgen.naming import cell
from layoutgen.spec import Param

__all__ = ["ALIGN_PARAMS", "align_pair", "align_site"]

#: the marks' parameters (validated by the cells and by the product specs alike)
ALIGN_PARAMS: dict[str, Param] = {p.key: p for p in (
    Param("align.sites", 2, "number of alignment sites on the wafer (dies replaced by mark "
          "pairs): 2 (left and right) or 4 (and top and bottom)", unit="", choices=(2, 4)),
    Param("align.size", 200.0, "overall size of a mark (cross length, cap mark outline)",
          low=0, low_open=True),
    Param("align.arm_width", 20.0, "width of the device cross's arms", low=0, low_open=True),
    Param("align.gap", 10.0, "space between the device cross and the cap mark's squares",
          low=0, low_open=True),
    Param("align.keepout", 800.0, "side of the square metal keep-out window around a mark "
          "pair (IR alignment through the silicon)", low=0, low_open=True),
)}


def _validate(size: float, arm_width: float, gap: float, keepout: float) -> tuple[float, ...]:
    size = ALIGN_PARAMS["align.size"].validate(size)
    arm_width = ALIGN_PARAMS["align.arm_width"].validate(arm_width)
    gap = ALIGN_PARAMS["align.gap"].validate(gap)
    keepout = ALIGN_PARAMS["align.keepout"].validate(keepout)
    low = arm_width + 2 * gap + 4 * GRID
    if size < low:
        allowed = f">= {low:g} µm (align.arm_width + 2 × align.gap + 4 nm)"
        raise ParameterError("align.size", f"must be {allowed} to leave room for the cap "
                                           f"mark's squares, got {size:g}", size, allowed)
    if keepout < size:
        allowed = f">= align.size ({size:g} µm)"
        raise ParameterError("align.keepout", f"must be {allowed}, got {keepout:g}", keepout,
                             allowed)
    return size, arm_width, gap, keepout


@cell("align_pair")
def align_pair(*, size: float = 200.0, arm_width: float = 20.0, gap: float = 10.0,
               keepout: float = 800.0, layers: LayerMap = DEFAULT_LAYERS) -> gdstk.Cell:
    """One alignment mark pair centred on the origin: device cross and cap mark.

    Args:
        size: overall size of each mark, µm.
        arm_width: width of the device cross's arms, µm.
        gap: space from the cross to the cap mark's squares, µm.
        keepout: side of the metal-free window around the pair, µm (>= size); only
            validated here, the window holds no shapes.
        layers: the layer map.
    """
    size, arm_width, gap, keepout = _validate(size, arm_width, gap, keepout)
    h, a = size / 2, arm_width / 2
    c = gdstk.Cell("align_pair")
    cross = gdstk.boolean(rect(-h, -a, h, a), rect(-a, -h, a, h), "or", precision=GRID)
    c.add(*snapped(cross, **layers.ld("ALIGN")))
    lo = a + gap  # inner corner of each square
    side = h - lo
    squares = []
    for sx in (-1, 1):
        for sy in (-1, 1):
            (x0, x1), (y0, y1) = sorted((sx * lo, sx * h)), sorted((sy * lo, sy * h))
            squares.append(rect(x0, y0, x1, y1))
    # the notch in the top-right square (orientation: shows a missing or double mirror)
    notch = rect(h - side / 2, h - side / 2, h, h)
    marks = gdstk.boolean(squares, notch, "not", precision=GRID)
    c.add(*snapped(marks, **layers.ld("CAP_METAL")))
    return c


@cell("align_site")
def align_site(*, die_width: float = 2000.0, die_height: float = 2000.0,
               scribe_width: float = 80.0, lane_width: float = 120.0, size: float = 200.0,
               arm_width: float = 20.0, gap: float = 10.0, keepout: float = 800.0,
               layers: LayerMap = DEFAULT_LAYERS) -> gdstk.Cell:
    """A wafer site that holds a mark pair instead of a die, centred on the origin.

    It keeps the scribe and cap cut lanes of the die grid around it, and nothing else,
    so the keep-out window (which must fit in the die area) holds no other metal.

    Args:
        die_width, die_height: the die size of the grid, µm.
        scribe_width: scribe lane width, µm.
        lane_width: cap cut lane width, µm.
        size, arm_width, gap, keepout: as :func:`align_pair`, µm.
        layers: the layer map.
    """
    size, arm_width, gap, keepout = _validate(size, arm_width, gap, keepout)
    lane_width = LANE_PARAMS["cut.lane_width"].validate(lane_width)
    room = min(die_width, die_height)
    if keepout > room:
        allowed = f">= align.size ({size:g} µm) and <= the die's smaller side ({room:g} µm)"
        raise ParameterError("align.keepout", f"must be {allowed} so that the window stays "
                                              f"clear of the neighbouring dies, got "
                                              f"{keepout:g}", keepout, allowed)
    c = gdstk.Cell("align_site")
    c.add(gdstk.Reference(scribe_lanes(die_width=die_width, die_height=die_height,
                                       scribe_width=scribe_width, layers=layers)))
    c.add(gdstk.Reference(cap_cut(die_width=die_width, die_height=die_height,
                                  scribe_width=scribe_width, lane_width=lane_width,
                                  layers=layers)))
    c.add(gdstk.Reference(align_pair(size=size, arm_width=arm_width, gap=gap,
                                     keepout=keepout, layers=layers)))
    return c
