"""Spacers on the cap (CAP_SPACER), claims 8, 9, 13, 14.

The spacers hold the cap at a set distance from the chip while the solder reflows and
sit only in cap regions that are cut away after sealing. By default each die has four,
one in each cut lane around it, near a die corner, turning like a pinwheel so that the
two spacers a lane receives from the dies on either side never meet::

           top lane: spacer near the top-left corner
              [s]
          +---------------+
          |               | [s]  right lane: near the top-right corner
          |      die      |
     [s]  |               |
          +---------------+
       left lane:        [s]  bottom lane: near the bottom-right corner
       near bottom-left

``corner_offset`` is the distance along the lane from the die corner to the spacer's
centre.
"""

from __future__ import annotations

import gdstk
import numpy as np

from layoutgen.geometry import CIRCLE_TOLERANCE, circle_points, snap
from layoutgen.layers import DEFAULT_LAYERS, LayerMap
from layoutgen.naming import cell
from layoutgen.spec import Param

__all__ = ["SPACER_PARAMS", "corner_sites", "spacer", "spacer_outline"]

SHAPES = ("square", "circle")

#: the spacers' parameters (validated by the cells and by the product specs alike)
SPACER_PARAMS: dict[str, Param] = {p.key: p for p in (
    Param("spacer.size", 50.0, "side of a square spacer or diameter of a round one "
          "(CAP_SPACER)", low=0, low_open=True),
    Param("spacer.shape", "square", "spacer shape: square or circle", unit="",
          choices=SHAPES),
    Param("spacer.corner_offset", 100.0, "distance along the cut lane from the die corner "
          "to a default spacer's centre", low=0),
    Param("spacer.sites", (), "spacer centres [[x, y], ...] relative to the die centre; "
          "empty: one per cut lane near the die corners", kind="list"),
    Param("spacer.cut_enclosure", 10.0, "CAP_CUT beyond each spacer (the spacer lies in the "
          "cap region cut away)", low=0),
)}


def spacer_outline(size: float, shape: str, center: tuple[float, float] = (0.0, 0.0),
                   tolerance: float = CIRCLE_TOLERANCE) -> np.ndarray:
    """Vertices (N×2 µm, snapped) of one spacer.

    Args:
        size: side of a square, or diameter of a circle, µm.
        shape: ``square`` or ``circle``.
        center: the spacer's centre, µm.
        tolerance: chord error of a circle, µm.
    """
    if shape == "circle":
        return circle_points(size / 2, center, tolerance)
    h = size / 2
    x, y = center
    return snap([(x - h, y - h), (x + h, y - h), (x + h, y + h), (x - h, y + h)])


def corner_sites(die_width: float, die_height: float, scribe_width: float,
                 corner_offset: float) -> tuple[tuple[float, float], ...]:
    """The four default spacer centres of a die centred on the origin (pinwheel), µm.

    Args:
        die_width, die_height: die size, µm.
        scribe_width: scribe lane width, µm; spacers sit on the lane centre lines.
        corner_offset: distance along a lane from the die corner to a spacer centre, µm.
    """
    hx, hy, s = die_width / 2, die_height / 2, scribe_width / 2
    return (
        (hx + s, hy - corner_offset),      # right lane, near the top-right corner
        (-(hx - corner_offset), hy + s),   # top lane, near the top-left corner
        (-(hx + s), -(hy - corner_offset)),  # left lane, near the bottom-left corner
        (hx - corner_offset, -(hy + s)),   # bottom lane, near the bottom-right corner
    )


@cell("cap_spacer")
def spacer(*, size: float = 50.0, shape: str = "square", tolerance: float = CIRCLE_TOLERANCE,
           layers: LayerMap = DEFAULT_LAYERS) -> gdstk.Cell:
    """One spacer on CAP_SPACER, centred on the origin.

    Args:
        size: side of a square spacer or diameter of a round one, µm.
        shape: ``square`` or ``circle``.
        tolerance: chord error of a round spacer, µm.
        layers: the layer map.
    """
    size = SPACER_PARAMS["spacer.size"].validate(size)
    shape = SPACER_PARAMS["spacer.shape"].validate(shape)
    c = gdstk.Cell("cap_spacer")
    c.add(gdstk.Polygon(spacer_outline(size, shape, tolerance=tolerance),
                        **layers.ld("CAP_SPACER")))
    return c
