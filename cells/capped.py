"""The capped die: one chip of the hermetic solder-seal cap process, all layers.

Device layers (DIE, ACTIVE, PAD, SEAL_LAND, SCRIBE) and cap layers (CAP_METAL,
CAP_SOLDER, CAP_SPACER, CAP_CUT) together, the cap layers drawn in device-wafer
coordinates (as seen from above through the bonded cap). The die is centred on the
cell's origin. Top view (not to scale)::

    +--CAP_CUT lane-----------------------------------------+
    | +--SCRIBE half-lane---------------------------------+ |
    | | +--DIE------------------------------------------+ | |
    | | |        [PAD] [PAD] [PAD]  <- CAP_CUT window    | |[s] <- spacer near a corner
    | | |   +--CAP_METAL--------------------------+      | | |
    | | |   | +--CAP_SOLDER / SEAL_LAND ring---+  |      | | |
    | | |[P]| |   clearance  +--ACTIVE--+      |  | [P]  | | |
    | | |   | |              +----------+      |  |      | | |
    | | |   | +--------------------------------+  |      | | |
    | | |   +-------------------------------------+      | | |
    | | +-----------------------------------------------+ | |
    | +---------------------------------------------------+ |
    +-------------------------------------------------------+

Bond pads (PAD) sit in rows along the die edges outside the seal; the cap is cut away
over them (windows in CAP_CUT joined to the cut lanes) so they are exposed after the
cut. No CAP_CUT region comes closer than ``cut_seal_space`` to the solder ring, so a
cut never touches a ring or the sealed cavity. Spacers sit in the cut lanes (by
default four, near the die corners, see :mod:`cells.spacer`).

Every argument of :func:`capped_die` is a product-spec key with ``.`` written ``_``
(``seal_width`` is ``seal.width``); errors name the spec key.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import gdstk
import numpy as np

from cells.lanes import (
    DIE_SIZE_PARAMS,
    LANE_PARAMS,
    cap_cut,
    cut_lane_bounds,
    cut_polygons,
    pad_window,
    scribe_lanes,
)
from cells.seal import SEAL_PARAMS, SealGeometry, active_polygon, seal_geometry, seal_ring
from cells.spacer import SPACER_PARAMS, corner_sites, spacer, spacer_outline
from layoutgen.errors import ParameterError
from layoutgen.geometry import CIRCLE_TOLERANCE, GRID, rect, snap
from layoutgen.layers import DEFAULT_LAYERS, LayerMap
from layoutgen.naming import cell
from layoutgen.spec import Param

__all__ = ["DIE_PARAMS", "CappedDiePlan", "capped_die", "die_params", "plan_capped_die"]

PAD_SIDES = ("all", "left_right", "top_bottom", "none")

#: the die's own parameters (die, active area, bond pads)
DIE_PARAMS: dict[str, Param] = {**DIE_SIZE_PARAMS, **{p.key: p for p in (
    Param("active.width", 1400.0, "width of the rectangular active area, centred on the die",
          low=0, low_open=True),
    Param("active.height", 1400.0, "height of the rectangular active area", low=0,
          low_open=True),
    Param("active.points", (), "active area outline [[x, y], ...] relative to the die centre, "
          "any simple polygon; when given it replaces active.width and active.height",
          kind="list"),
    Param("pad.size", 80.0, "side of the square chip bond pads (PAD) outside the seal",
          low=0, low_open=True),
    Param("pad.pitch", 150.0, "centre-to-centre pitch of the pads in a row", low=0,
          low_open=True),
    Param("pad.count", 6, "pads per row (one row along each padded die edge)", unit="",
          low=0),
    Param("pad.edge_offset", 20.0, "space from the die edge to the pad row", low=0),
    Param("pad.sides", "all", "die edges with a pad row: all, left_right, top_bottom or none",
          unit="", choices=PAD_SIDES),
)}}


def die_params() -> dict[str, Param]:
    """Every parameter of a capped die, by spec key (die, active, seal, pad, spacer, cut,
    scribe), in a stable order."""
    return {**DIE_PARAMS, **SEAL_PARAMS, **SPACER_PARAMS, **LANE_PARAMS}


@dataclass(frozen=True)
class CappedDiePlan:
    """Where everything of one capped die goes (µm, die centred on the origin).

    Attributes:
        die: (width, height).
        seal: the seal stack's outlines.
        pads: bond pad centres.
        windows: CAP_CUT windows over the pad rows (x0, y0, x1, y1).
        spacers: spacer centres.
    """

    die: tuple[float, float]
    seal: SealGeometry
    pads: tuple[tuple[float, float], ...]
    windows: tuple[tuple[float, float, float, float], ...]
    spacers: tuple[tuple[float, float], ...]


def _fail(key: str, allowed: str, why: str, value: object) -> ParameterError:
    shown = f"{value:g}" if isinstance(value, float) else repr(value)
    what = " ".join(part for part in ("must be", allowed, why) if part)
    return ParameterError(key, f"{what}, got {shown}", value, allowed)


def _down(x: float) -> str:
    """``x`` rounded down to the grid, for an upper bound in a message."""
    return f"{np.floor(x / GRID + 1e-6) * GRID:.3f}".rstrip("0").rstrip(".")


def _pad_rows(w: float, h: float, size: float, pitch: float, count: int, edge: float,
              sides: str) -> dict[str, list[tuple[float, float]]]:
    """Pad centres of each padded side."""
    rows: dict[str, list[tuple[float, float]]] = {}
    if count == 0 or sides == "none":
        return rows
    along = (np.arange(count) - (count - 1) / 2) * pitch
    inset_x = w / 2 - edge - size / 2
    inset_y = h / 2 - edge - size / 2
    if sides in ("all", "left_right"):
        rows["right"] = [(inset_x, float(t)) for t in along]
        rows["left"] = [(-inset_x, float(t)) for t in along]
    if sides in ("all", "top_bottom"):
        rows["top"] = [(float(t), inset_y) for t in along]
        rows["bottom"] = [(float(t), -inset_y) for t in along]
    return rows


def _touches(a: list[gdstk.Polygon], b: list[gdstk.Polygon]) -> bool:
    """True when the regions ``a`` and ``b`` overlap (shared area)."""
    return bool(a and b and gdstk.boolean(a, b, "and", precision=GRID))


def plan_capped_die(*, die_width: float = 2000.0, die_height: float = 2000.0,
                    active_width: float = 1400.0, active_height: float = 1400.0,
                    active_points: Sequence[Sequence[float]] = (),
                    seal_width: float = 80.0, seal_clearance: float = 60.0,
                    seal_corner: str = "chamfer", seal_chamfer: float = 70.0,
                    seal_radius: float = 100.0, seal_metal_enclosure: float = 10.0,
                    seal_land_enclosure: float = 5.0, pad_size: float = 80.0,
                    pad_pitch: float = 150.0, pad_count: int = 6,
                    pad_edge_offset: float = 20.0, pad_sides: str = "all",
                    spacer_size: float = 50.0, spacer_shape: str = "square",
                    spacer_corner_offset: float = 100.0,
                    spacer_sites: Sequence[Sequence[float]] = (),
                    spacer_cut_enclosure: float = 10.0, cut_lane_width: float = 120.0,
                    cut_pad_enclosure: float = 10.0, cut_seal_space: float = 20.0,
                    scribe_width: float = 80.0) -> CappedDiePlan:
    """Validate a capped die's parameters and place everything (arguments: :func:`capped_die`).

    Raises:
        ParameterError: naming the spec key and its allowed range, when a value is out
            of range or the parts do not fit: the ring does not fit in the die, a cut
            lane or pad window would touch the ring, pads collide or sit on the seal,
            a spacer is outside CAP_CUT or lands on a seal ring, an active area or a pad.
    """
    given = {
        "die.width": die_width, "die.height": die_height, "active.width": active_width,
        "active.height": active_height, "active.points": active_points, "pad.size": pad_size,
        "pad.pitch": pad_pitch, "pad.count": pad_count, "pad.edge_offset": pad_edge_offset,
        "pad.sides": pad_sides, "spacer.size": spacer_size, "spacer.shape": spacer_shape,
        "spacer.corner_offset": spacer_corner_offset, "spacer.sites": spacer_sites,
        "spacer.cut_enclosure": spacer_cut_enclosure, "cut.lane_width": cut_lane_width,
        "cut.pad_enclosure": cut_pad_enclosure, "cut.seal_space": cut_seal_space,
        "scribe.width": scribe_width}
    params = die_params()
    v = {key: params[key].validate(val) for key, val in given.items()}
    w, h = v["die.width"], v["die.height"]
    hx, hy = w / 2, h / 2

    # the active area, inside the die
    if v["active.points"]:
        act = active_polygon(v["active.points"])
        if np.any(np.abs(act[:, 0]) >= hx) or np.any(np.abs(act[:, 1]) >= hy):
            raise _fail("active.points", f"inside the die (|x| < {hx:g}, |y| < {hy:g} µm)",
                        "(vertices relative to the die centre)", v["active.points"])
    else:
        for key, size, die in (("active.width", v["active.width"], w),
                               ("active.height", v["active.height"], h)):
            if size >= die:
                raise _fail(key, f"< the die ({die:g} µm)", "", size)
        aw, ah = v["active.width"] / 2, v["active.height"] / 2
        act = snap([(-aw, -ah), (aw, -ah), (aw, ah), (-aw, ah)])

    # the seal ring, inside the die
    seal = seal_geometry(active=tuple(map(tuple, act)), clearance=seal_clearance,
                         width=seal_width, corner=seal_corner, chamfer=seal_chamfer,
                         radius=seal_radius, metal_enclosure=seal_metal_enclosure,
                         land_enclosure=seal_land_enclosure)
    x0, y0, x1, y1 = seal.extent()
    over = max(x1 - hx, -x0 - hx, y1 - hy, -y0 - hy)
    if over > 0:
        most = seal_width - over
        allowed = f"> 0 and <= {_down(most)} µm" if most > 0 else "> 0 µm with a smaller " \
            "active area or seal.clearance"
        raise _fail("seal.width", allowed, f"so that the seal ring with its metal and land "
                    f"({x1 - x0:g} × {y1 - y0:g} µm now) fits in the die ({w:g} × {h:g} µm)",
                    seal_width)

    # cut lanes keep their distance from the solder ring
    s, lane, space = v["scribe.width"], v["cut.lane_width"], v["cut.seal_space"]
    sx0, sy0, sx1, sy1 = seal.solder_extent()
    room = min(hx + s / 2 - max(sx1, -sx0), hy + s / 2 - max(sy1, -sy0))  # centre line - ring
    if room - space <= 0:
        raise _fail("cut.seal_space", f"> 0 and < {_down(room)} µm", "so that a cut lane fits "
                    "between the seal ring and the scribe lane's centre", space)
    if lane / 2 > room - space:
        raise _fail("cut.lane_width", f"> 0 and <= {_down(2 * (room - space))} µm",
                    f"so that the cut lanes stay cut.seal_space ({space:g} µm) from the seal "
                    "ring (a cut lane must never cross a seal)", lane)
    ox, oy, _, _ = cut_lane_bounds(w, h, s, lane)

    # bond pads outside the seal, with windows over them
    psize, pitch, count = v["pad.size"], v["pad.pitch"], v["pad.count"]
    edge, sides, enc = v["pad.edge_offset"], v["pad.sides"], v["cut.pad_enclosure"]
    rows = _pad_rows(w, h, psize, pitch, count, edge, sides)
    pads: list[tuple[float, float]] = []
    windows: list[tuple[float, float, float, float]] = []
    if rows:
        if count > 1 and pitch <= psize:
            raise _fail("pad.pitch", f"> pad.size ({psize:g} µm)", "so that pads do not touch",
                        pitch)
        span = (count - 1) * pitch + psize
        gap = pitch - psize if count > 1 else psize
        if sides == "all":
            limit = min(hx, hy) - edge - psize - gap  # clear of the crossing rows
        elif sides == "left_right":
            limit = hy
        else:
            limit = hx
        if span / 2 > limit:
            most = int(np.floor((2 * limit - psize) / pitch + 1e-9)) + 1 if 2 * limit >= psize \
                else 0
            raise _fail("pad.count", f">= 0 and <= {max(most, 0)}", f"so that a row of pads at "
                        f"pitch {pitch:g} µm fits along the die edge", count)
        land_x, land_y = max(seal.land_outer[:, 0].max(), -seal.land_outer[:, 0].min()), \
            max(seal.land_outer[:, 1].max(), -seal.land_outer[:, 1].min())
        for side, centres in rows.items():
            horiz = side in ("left", "right")
            inner_edge = (hx if horiz else hy) - edge - psize  # pad edge facing the seal
            ring = max(sx1, -sx0) if horiz else max(sy1, -sy0)
            land = land_x if horiz else land_y
            most = min((hx if horiz else hy) - edge - enc - space - ring,
                       (hx if horiz else hy) - edge - land - GRID)
            if inner_edge - enc < ring + space or inner_edge <= land:
                allowed = f"> 0 and <= {_down(most)} µm" if most > 0 else \
                    "> 0 µm with a smaller seal ring or pad.edge_offset"
                raise _fail("pad.size", allowed, f"so that the pads stay off the seal land and "
                            f"their cap window stays cut.seal_space ({space:g} µm) from the "
                            f"seal ring", psize)
            pads.extend(centres)
            xs = [c[0] for c in centres]
            ys = [c[1] for c in centres]
            box = (min(xs) - psize / 2, min(ys) - psize / 2, max(xs) + psize / 2,
                   max(ys) + psize / 2)
            windows.append(pad_window(side, box, enc, (ox, oy)))

    # spacers: inside CAP_CUT, off seals, the active area and pads
    ssize, shape, cenc = v["spacer.size"], v["spacer.shape"], v["spacer.cut_enclosure"]
    if v["spacer.sites"]:
        key = "spacer.sites"
        allowed = (f"a list of [x, y] spacer centres (µm) within the die's cut lanes "
                   f"(|x| <= {ox:g}, |y| <= {oy:g})")
        try:
            if any(isinstance(c, (bool, str, bytes)) for xy in v["spacer.sites"] for c in xy):
                raise TypeError("not a number")  # float() would take True or "5"
            sites = tuple((float(x), float(y)) for x, y in v["spacer.sites"])
        except (TypeError, ValueError):
            raise _fail(key, allowed, "", v["spacer.sites"]) from None
        # (a site far outside, or NaN, would also crash the polygon clipper)
        if not all(abs(x) <= ox and abs(y) <= oy for x, y in sites):
            raise _fail(key, allowed, "", v["spacer.sites"])
    else:
        key = "spacer.size"
        if ssize + 2 * cenc > lane:
            raise _fail("spacer.size", f"> 0 and <= {_down(lane - 2 * cenc)} µm",
                        f"so that a spacer fits in a cut lane (cut.lane_width {lane:g} µm) with "
                        f"spacer.cut_enclosure {cenc:g} µm on each side", ssize)
        off = v["spacer.corner_offset"]
        lo, hi = ssize / 2, min(hx, hy) - ssize / 2
        if not lo <= off <= hi:
            raise _fail("spacer.corner_offset", f">= {lo:g} and <= {_down(hi)} µm",
                        "(spacer.size / 2 .. die's smaller half-side - spacer.size / 2) so that "
                        "spacers stay beside their die and do not meet their neighbours'", off)
        sites = corner_sites(w, h, s, off)
    cut = cut_polygons(w, h, s, lane, windows)
    seal_polys = [gdstk.Polygon(p) for p in (seal.metal_outer, seal.land_outer, seal.outer)]
    act_poly = [gdstk.Polygon(act)]
    pad_polys = [rect(x - psize / 2, y - psize / 2, x + psize / 2, y + psize / 2)
                 for x, y in pads]
    for x, y in sites:
        sp = [gdstk.Polygon(spacer_outline(ssize, shape, (x, y), CIRCLE_TOLERANCE))]
        where = f"the spacer at ({x:g}, {y:g})"
        grown = gdstk.offset(sp, cenc, join="miter", precision=GRID) if cenc else sp
        if gdstk.boolean(grown, cut, "not", precision=GRID):
            raise _fail(key, "spacers lying inside CAP_CUT (the cut lanes or pad windows) with "
                        f"spacer.cut_enclosure ({cenc:g} µm) around them",
                        f"({where} is not)", v[key])
        for what, region in (("a seal ring", seal_polys), ("the active area", act_poly),
                             ("a bond pad", pad_polys)):
            if _touches(sp, region):
                raise _fail(key, "spacers off every seal ring, active area and bond pad",
                            f"({where} would land on {what})", v[key])
    return CappedDiePlan((w, h), seal, tuple(pads), tuple(windows), tuple(sites))


@cell("capped_die")
def capped_die(*, die_width: float = 2000.0, die_height: float = 2000.0,
               active_width: float = 1400.0, active_height: float = 1400.0,
               active_points: Sequence[Sequence[float]] = (),
               seal_width: float = 80.0, seal_clearance: float = 60.0,
               seal_corner: str = "chamfer", seal_chamfer: float = 70.0,
               seal_radius: float = 100.0, seal_metal_enclosure: float = 10.0,
               seal_land_enclosure: float = 5.0, pad_size: float = 80.0,
               pad_pitch: float = 150.0, pad_count: int = 6, pad_edge_offset: float = 20.0,
               pad_sides: str = "all", spacer_size: float = 50.0, spacer_shape: str = "square",
               spacer_corner_offset: float = 100.0,
               spacer_sites: Sequence[Sequence[float]] = (),
               spacer_cut_enclosure: float = 10.0, cut_lane_width: float = 120.0,
               cut_pad_enclosure: float = 10.0, cut_seal_space: float = 20.0,
               scribe_width: float = 80.0,
               layers: LayerMap = DEFAULT_LAYERS) -> gdstk.Cell:
    """One capped die, centred on the origin, device and cap layers in device coordinates.

    Args:
        die_width: die width (x) without the scribe lane, µm.
        die_height: die height (y) without the scribe lane, µm.
        active_width: width of the rectangular active area centred on the die, µm.
        active_height: height of the rectangular active area, µm.
        active_points: the active area's outline [(x, y), ...] relative to the die
            centre, µm, any simple polygon; replaces ``active_width``/``active_height``.
        seal_width: width of the solder ring (CAP_SOLDER), µm.
        seal_clearance: active area to the ring's inner edge, µm.
        seal_corner: ring corners: ``square``, ``chamfer`` or ``round``.
        seal_chamfer: chamfer leg on the ring's outer edge, µm (``chamfer``).
        seal_radius: radius of the ring's outer edge at convex corners, µm (``round``).
        seal_metal_enclosure: CAP_METAL beyond the solder ring on both sides, µm.
        seal_land_enclosure: SEAL_LAND beyond the solder ring on both sides, µm.
        pad_size: side of the square bond pads (PAD), µm.
        pad_pitch: pad pitch along a row, µm.
        pad_count: pads per row.
        pad_edge_offset: die edge to the pad row, µm.
        pad_sides: padded die edges: ``all``, ``left_right``, ``top_bottom``, ``none``.
        spacer_size: side (square) or diameter (circle) of a spacer, µm.
        spacer_shape: ``square`` or ``circle``.
        spacer_corner_offset: die corner to a default spacer's centre along its lane, µm.
        spacer_sites: explicit spacer centres [(x, y), ...] relative to the die centre,
            µm; empty for the four default ones near the die corners.
        spacer_cut_enclosure: CAP_CUT beyond each spacer, µm.
        cut_lane_width: width of the cap's cut lanes, centred on the scribe lanes, µm.
        cut_pad_enclosure: cap window beyond the bond pads, µm.
        cut_seal_space: minimum space from CAP_CUT to the solder ring, µm.
        scribe_width: scribe lane width between dies, µm (the cell draws its half).
        layers: the layer map.
    """
    plan = plan_capped_die(
        die_width=die_width, die_height=die_height, active_width=active_width,
        active_height=active_height, active_points=active_points, seal_width=seal_width,
        seal_clearance=seal_clearance, seal_corner=seal_corner, seal_chamfer=seal_chamfer,
        seal_radius=seal_radius, seal_metal_enclosure=seal_metal_enclosure,
        seal_land_enclosure=seal_land_enclosure, pad_size=pad_size, pad_pitch=pad_pitch,
        pad_count=pad_count, pad_edge_offset=pad_edge_offset, pad_sides=pad_sides,
        spacer_size=spacer_size, spacer_shape=spacer_shape,
        spacer_corner_offset=spacer_corner_offset, spacer_sites=spacer_sites,
        spacer_cut_enclosure=spacer_cut_enclosure, cut_lane_width=cut_lane_width,
        cut_pad_enclosure=cut_pad_enclosure, cut_seal_space=cut_seal_space,
        scribe_width=scribe_width)
    w, h = plan.die
    c = gdstk.Cell("capped_die")
    c.add(rect(-w / 2, -h / 2, w / 2, h / 2, **layers.ld("DIE")))
    c.add(gdstk.Polygon(plan.seal.active, **layers.ld("ACTIVE")))
    for x, y in plan.pads:
        c.add(rect(x - pad_size / 2, y - pad_size / 2, x + pad_size / 2, y + pad_size / 2,
                   **layers.ld("PAD")))
    c.add(gdstk.Reference(seal_ring(
        active=tuple(map(tuple, plan.seal.active)), clearance=seal_clearance,
        width=seal_width, corner=seal_corner, chamfer=seal_chamfer, radius=seal_radius,
        metal_enclosure=seal_metal_enclosure, land_enclosure=seal_land_enclosure,
        layers=layers)))
    c.add(gdstk.Reference(scribe_lanes(die_width=w, die_height=h, scribe_width=scribe_width,
                                       layers=layers)))
    c.add(gdstk.Reference(cap_cut(die_width=w, die_height=h, scribe_width=scribe_width,
                                  lane_width=cut_lane_width, windows=plan.windows,
                                  layers=layers)))
    sp = spacer(size=spacer_size, shape=spacer_shape, layers=layers)
    for site in plan.spacers:
        c.add(gdstk.Reference(sp, site))
    return c
